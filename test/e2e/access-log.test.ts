// The access log when stdout is a pipe nobody reads: the proxy keeps serving,
// each worker's buffer of log lines stays bounded (lines beyond it are
// dropped), and the drops are counted in /stats/prometheus.
import * as http from 'node:http';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metric, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  upstream = await startUpstream((req, res) => res.end('ok'));
  const routes = [{ match: { prefix: '/' }, route: { cluster: 'backend' } }];
  proxy = await startProxy({
    bootstrap: bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes }] }, [{ name: 'backend', ports: [upstream.port] }]),
    workers: 2,
    accessLog: 'stdout',
  });
});

afterAll(async () => {
  agent.destroy();
  proxy?.child.stdout?.resume();
  await proxy?.stop('SIGKILL');
  await upstream?.close();
});

/** The process's anonymous resident memory (heaps, buffers: where queued lines would be), not file pages such as the
 *  node binary's, which the proxy releases after startup and serving faults back in. */
function rssAnonKiB(pid: number): number {
  return Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

describe('access log to a stdout nobody reads', () => {
  it('drops lines beyond a bounded buffer, counts them in isthmus_access_log_dropped_total, and keeps serving', async () => {
    // The test stops reading the proxy's stdout: the pipe (64 KiB) fills, then each worker's buffer.
    proxy.child.stdout!.pause();
    const path = `/${'p'.repeat(8000)}`; // ~8 KB per access-log line
    const total = 3000; // ~24 MB of lines: far beyond the pipe and 1 MiB per worker
    const rssBefore = rssAnonKiB(proxy.child.pid!);
    for (let i = 0; i < total; i += 4) {
      const batch = await Promise.all([0, 1, 2, 3].map(() => request(proxy.port, path, { agent })));
      expect(batch.every((r) => r.status === 200)).toBe(true);
    }
    const rssGrowthMiB = (rssAnonKiB(proxy.child.pid!) - rssBefore) / 1024;
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    const dropped = metric(stats, 'isthmus_access_log_dropped_total') ?? 0;
    // At most ~1 MiB per worker (two workers) plus the pipe is kept: ~250 of the 8 KB lines; the rest are dropped.
    expect(dropped).toBeGreaterThanOrEqual(total - 400);
    expect(dropped).toBeLessThanOrEqual(total);
    // Queued without bound, 3000 such lines are ~24 MB (more as JS strings); bounded, the growth is a few MB.
    expect(rssGrowthMiB).toBeLessThan(16);
  }, 60_000);
});
