// Active health checks, once per proxy: an endpoint that fails its check is
// down before any request could reach it, in every worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, closedPort, metric, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

let live: Upstream;
let sick: Upstream;
let sickTraffic = 0;
let proxy: RunningProxy;
let deadPort: number;

function healthThenName(name: string, healthStatus: () => number) {
  return (req: { url?: string }, res: { statusCode: number; end(body: string): void }) => {
    if (req.url === '/healthz') {
      res.statusCode = healthStatus();
      res.end('');
      return;
    }
    if (name === 'sick') sickTraffic++;
    res.end(name);
  };
}

beforeAll(async () => {
  live = await startUpstream(healthThenName('live', () => 200));
  sick = await startUpstream(healthThenName('sick', () => 503));
  deadPort = await closedPort();
  const bootstrap = bootstrapWith(
    { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'svc' } }] }] },
    [{ name: 'svc', ports: [live.port, sick.port, deadPort], lb_policy: 'ROUND_ROBIN' }],
  ) as { static_resources: { clusters: Record<string, unknown>[] } };
  Object.assign(bootstrap.static_resources.clusters[0]!, {
    // No panic mode: with one healthy endpoint of three, Envoy would otherwise route to all of them.
    common_lb_config: { healthy_panic_threshold: { value: 0 } },
    health_checks: [{
      timeout: '0.5s',
      interval: '0.2s',
      unhealthy_threshold: 2,
      healthy_threshold: 2,
      http_health_check: { path: '/healthz' },
    }],
  });
  proxy = await startProxy({ bootstrap, workers: 2 });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([live?.close(), sick?.close()]);
});

describe('active health checks', () => {
  it('mark a dead endpoint down before any request hits it', async () => {
    // At once, from both workers (a connection each): every request goes to the one endpoint that passed its check.
    const results = await Promise.all(Array.from({ length: 40 }, () => request(proxy.port, '/x')));
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(results.every((r) => r.body === 'live')).toBe(true);
    expect(sickTraffic).toBe(0);
    expect(sick.seen.filter((s) => s.url === '/healthz').length).toBeGreaterThan(0);

    const text = (await admin(proxy, '/clusters')).body;
    expect(text).toContain(`svc::127.0.0.1:${live.port}::health_flags::healthy\n`);
    expect(text).toContain(`svc::127.0.0.1:${sick.port}::health_flags::/failed_active_hc\n`);
    expect(text).toContain(`svc::127.0.0.1:${deadPort}::health_flags::/failed_active_hc\n`);
    const json = JSON.parse((await admin(proxy, '/clusters?format=json')).body) as {
      cluster_statuses: { host_statuses: { address: { socket_address: { port_value: number } }; health_status: Record<string, unknown> }[] }[];
    };
    const sickStatus = json.cluster_statuses[0]!.host_statuses.find((h) => h.address.socket_address.port_value === sick.port)!;
    expect(sickStatus.health_status).toMatchObject({ failed_active_health_check: true, eds_health_status: 'HEALTHY' });

    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metric(stats, 'envoy_cluster_health_check_healthy{cluster_name="svc"}')).toBe(1);
    expect(metric(stats, 'envoy_cluster_health_check_success{cluster_name="svc"}')).toBeGreaterThanOrEqual(1);
    expect(metric(stats, 'envoy_cluster_health_check_failure{cluster_name="svc"}')).toBeGreaterThanOrEqual(2);
    // Once per proxy, not per worker: about one check per interval per endpoint, not two.
    const checksSoFar = live.seen.filter((s) => s.url === '/healthz').length;
    await new Promise((r) => setTimeout(r, 1000));
    const perSecond = live.seen.filter((s) => s.url === '/healthz').length - checksSoFar;
    expect(perSecond).toBeGreaterThanOrEqual(3);
    expect(perSecond).toBeLessThanOrEqual(6);
  });
});
