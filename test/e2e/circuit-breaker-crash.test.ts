// A worker that dies with requests in flight must not shrink the circuit
// breakers for good: the agent gives back what the dead worker held in the
// shared counters (its in-flight requests and upstream connections), so the
// cluster's full max_requests is available again once it restarts.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, configDump, metric, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';


let hung: Upstream;
let proxy: RunningProxy;
const clients: Socket[] = [];

beforeAll(async () => {
  hung = await startUpstream(() => {}); // takes requests, never answers
  const bootstrap = bootstrapWith(
    { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'hung', timeout: '0s' } }] }] },
    [{ name: 'hung', ports: [hung.port] }],
  ) as { static_resources: { clusters: Record<string, unknown>[] } };
  bootstrap.static_resources.clusters[0]!.circuit_breakers = { thresholds: [{ max_requests: 4 }] };
  proxy = await startProxy({ bootstrap, workers: 2, args: ['--enable-debug-endpoints'] });
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await proxy?.stop();
  await hung?.close();
});

async function remaining(): Promise<{ rq: number | undefined; cx: number | undefined }> {
  const text = (await admin(proxy, '/stats/prometheus')).body;
  return {
    rq: metric(text, 'envoy_cluster_circuit_breakers_default_remaining_rq{cluster_name="hung"}'),
    cx: metric(text, 'envoy_cluster_circuit_breakers_default_remaining_cx{cluster_name="hung"}'),
  };
}

describe('circuit breakers across a worker crash', () => {
  it('gives back the requests and connections a crashed worker held', async () => {
    // 8 clients on their own connections: 4 requests are admitted and hang upstream, the rest overflow.
    for (let i = 0; i < 8; i++) {
      const socket = connect(proxy.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`GET /hang/${i} HTTP/1.1\r\nhost: x\r\n\r\n`);
      clients.push(socket);
    }
    await waitFor('max_requests to be in use', async () => (await remaining()).rq === 0);
    expect((await remaining()).cx).toBeLessThan(1024);

    // Both workers die with what they hold; the agent restarts them.
    for (const id of [0, 1]) expect((await admin(proxy, `/debug/crash_worker?id=${id}`, 'POST')).status).toBe(200);
    await waitFor('both workers back', async () => {
      const d = await configDump(proxy);
      return d.workers.every((w) => w.restarts >= 1 && w.state === 'running');
    }, 15_000);
    expect(await remaining()).toEqual({ rq: 4, cx: 1024 });
    expect(proxy.lines.some((l) => l.msg === 'gave back the circuit-breaker resources the exited worker held')).toBe(true);
  }, 30_000);
});
