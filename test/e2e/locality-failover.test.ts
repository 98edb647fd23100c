// Locality failover as Istio's localityLbSetting produces it: the local
// zone's endpoints at priority 0, the next zone's at priority 1. Traffic
// stays local while priority 0 is healthy, spills over by Envoy's
// overprovisioning rule when part of it fails its health checks, moves
// entirely when all of it fails, and comes back; /clusters shows each
// endpoint's locality and priority.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_SET_REFRESH_MS } from '../../workers/balancers/host-set-refresher.js';
import { admin, httpListener, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

interface Backend {
  readonly name: string;
  healthy: boolean;
  upstream: Upstream;
}

const backends: Backend[] = ['local-a', 'local-b', 'remote'].map((name) => ({ name, healthy: true, upstream: undefined as unknown as Upstream }));
let proxy: RunningProxy;

function group(zone: string, priority: number, members: readonly Backend[]): Record<string, unknown> {
  return {
    locality: { region: 'eu-west', zone, sub_zone: '' },
    priority,
    lb_endpoints: members.map((b) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: b.upstream.port } } } })),
  };
}

beforeAll(async () => {
  for (const b of backends) {
    b.upstream = await startUpstream((req, res) => {
      if (req.url === '/healthz') res.statusCode = b.healthy ? 200 : 503;
      res.end(b.name);
    });
  }
  const [a, bb, remote] = backends as [Backend, Backend, Backend];
  proxy = await startProxy({
    workers: 2,
    bootstrap: {
      static_resources: {
        listeners: [httpListener('outbound', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }] }] })],
        clusters: [{
          name: 'svc',
          type: 'STATIC',
          connect_timeout: '1s',
          lb_policy: 'ROUND_ROBIN',
          health_checks: [{ timeout: '3s', interval: '0.1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }], // 3 s: one slow answer on a loaded machine must not count as a failure
          load_assignment: { cluster_name: 'svc', endpoints: [group('eu-west-1a', 0, [a, bb]), group('eu-west-1b', 1, [remote])] },
        }],
      },
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all(backends.map((b) => b.upstream?.close()));
});

/** Answers to `n` requests, each on its own connection (both workers), by backend name. */
async function spread(n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i += 50) {
    const results = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => request(proxy.port, '/x')));
    for (const r of results) {
      expect(r.status).toBe(200);
      counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
    }
  }
  return counts;
}

/** Waits until /clusters shows these health flags for every backend ('healthy' or a failure flag). */
async function healthShown(expected: Record<string, boolean>): Promise<void> {
  await waitFor(`health ${JSON.stringify(expected)}`, async () => {
    const text = (await admin(proxy, '/clusters')).body;
    return backends.every((b) => {
      const line = `svc::127.0.0.1:${b.upstream.port}::health_flags::healthy\n`;
      return text.includes(line) === expected[b.name];
    });
  });
  // /clusters reads health from the shared state; a worker that refreshed its host sets a moment before the flag
  // flipped picks from the new set at its next refresh (every HOST_SET_REFRESH_MS): give each worker a few.
  await new Promise((r) => setTimeout(r, 10 * HOST_SET_REFRESH_MS));
}

describe('locality failover by priority', () => {
  it('keeps traffic on priority 0 (the local zone) while it is healthy', async () => {
    await healthShown({ 'local-a': true, 'local-b': true, remote: true });
    const counts = await spread(100);
    expect(counts.get('remote')).toBeUndefined();
    expect((counts.get('local-a') ?? 0) + (counts.get('local-b') ?? 0)).toBe(100);
  });

  it('spills about 30% to priority 1 when half of priority 0 fails its health check (overprovisioning 1.4)', async () => {
    backends[0]!.healthy = false;
    await healthShown({ 'local-a': false, 'local-b': true, remote: true });
    const counts = await spread(400);
    expect(counts.get('local-a')).toBeUndefined();
    // 70% / 30% expected; binomial sd over 400 ≈ 2.3%.
    expect(Math.abs((counts.get('remote') ?? 0) / 400 - 0.3)).toBeLessThan(0.1);
  });

  it('moves all traffic to priority 1 when every priority-0 endpoint fails, and back when they recover', async () => {
    backends[1]!.healthy = false;
    await healthShown({ 'local-a': false, 'local-b': false, remote: true });
    const failed = await spread(100);
    expect(failed.get('remote')).toBe(100);
    backends[0]!.healthy = true;
    backends[1]!.healthy = true;
    await healthShown({ 'local-a': true, 'local-b': true, remote: true });
    const back = await spread(100);
    expect(back.get('remote')).toBeUndefined();
  });

  it('shows each endpoint\'s locality and priority in /clusters (text and JSON)', async () => {
    const text = (await admin(proxy, '/clusters')).body;
    const remote = `svc::127.0.0.1:${backends[2]!.upstream.port}::`;
    expect(text).toContain(`${remote}region::eu-west\n`);
    expect(text).toContain(`${remote}zone::eu-west-1b\n`);
    expect(text).toContain(`${remote}priority::1\n`);
    expect(text).toContain(`svc::127.0.0.1:${backends[0]!.upstream.port}::priority::0\n`);
    const json = JSON.parse((await admin(proxy, '/clusters?format=json')).body) as {
      cluster_statuses: { name: string; host_statuses: { address: { socket_address: { port_value: number } }; locality: unknown; priority: number }[] }[];
    };
    const host = json.cluster_statuses.find((c) => c.name === 'svc')!.host_statuses.find((h) => h.address.socket_address.port_value === backends[2]!.upstream.port)!;
    expect(host.locality).toEqual({ region: 'eu-west', zone: 'eu-west-1b', sub_zone: '' });
    expect(host.priority).toBe(1);
  });
});
