// Process lifecycle of `isthmus proxy`: SIGTERM drains an in-flight request
// before exiting 0, and a worker thread that dies is restarted while the
// proxy keeps serving.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapYaml, configDump, metric, request, startProxy, startUpstream, tempDir, waitFor,
  type ProxyProcess, type Upstream,
} from './proxy-harness.js';

const dir = tempDir('lifecycle');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;
let proxy: ProxyProcess | undefined;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(bootstrapPath, bootstrapYaml({ upstreamPort: upstream.port, tag: 'v1' }));
});
afterEach(async () => {
  await proxy?.stop('SIGKILL');
  proxy = undefined;
});
afterAll(async () => {
  await upstream?.close();
  dir.remove();
});

describe('proxy lifecycle', () => {
  it('drains an in-flight slow request on SIGTERM, then exits 0', async () => {
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-term'), workers: 2 }));
    const port = p.ports.get('outbound')!;
    const receivedBefore = upstream.received();
    const slow = request(port, '/slow?ms=1000').then((r) => ({ ...r, at: Date.now() }));
    await waitFor('the upstream to receive the slow request', () => upstream.received() > receivedBefore);
    const signalledAt = Date.now();
    p.child.kill('SIGTERM');
    const exitedAt = p.exited.then((code) => ({ code, at: Date.now() }));
    const response = await slow;
    expect(response.status).toBe(200);
    expect(response.body).toBe('upstream /slow\n');
    const exit = await exitedAt;
    expect(exit.code).toBe(0);
    expect(exit.at).toBeGreaterThanOrEqual(response.at);
    expect(response.at - signalledAt).toBeGreaterThan(500); // it really waited for the upstream
    expect(p.lines.some((l) => l.msg === 'proxy stopped')).toBe(true);
  }, 30_000);

  it('exits 0 on SIGINT when idle', async () => {
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-int') }));
    expect(await p.stop('SIGINT')).toBe(0);
  }, 30_000);

  it('restarts a worker thread that dies while the other keeps serving', async () => {
    const p = (proxy = await startProxy({
      bootstrapPath, dataDir: join(dir.path, 'data-crash'), workers: 2, args: ['--enable-debug-endpoints'],
    }));
    const port = p.ports.get('outbound')!;
    expect((await admin(p, '/debug/crash_worker?id=0', 'POST')).status).toBe(200);
    // Connections already queued on the dying thread die with it; wait until it is gone.
    await waitFor('worker 0 to exit', async () => {
      const w0 = (await configDump(p)).workers.find((w) => w.workerId === 0);
      return w0 !== undefined && (w0.state !== 'running' || w0.restarts >= 1);
    });
    // While worker 0 is down or coming back, fresh connections keep being served.
    for (let i = 0; i < 20; i++) {
      expect((await request(port, `/during/${i}`)).status).toBe(200);
    }
    const dump = await waitFor('worker 0 to come back', async () => {
      const d = await configDump(p);
      const w0 = d.workers.find((w) => w.workerId === 0);
      return w0?.restarts === 1 && w0.state === 'running' && w0.appliedVersion === d.version ? d : undefined;
    });
    expect(dump.workers.find((w) => w.workerId === 1)?.restarts).toBe(0);
    expect((await admin(p, '/ready')).status).toBe(200);
    const stats = (await admin(p, '/stats/prometheus')).body;
    expect(metric(stats, 'isthmus_worker_restarts_total')).toBe(1);
    expect(metric(stats, 'isthmus_worker_downstream_cx_total{worker="0"}')).toBeDefined();
    expect(p.lines.some((l) => l.msg === 'worker exited unexpectedly; restarting' && l.workerId === 0)).toBe(true);
    // A worker id that does not exist is a 404, a malformed one a 400.
    expect((await admin(p, '/debug/crash_worker?id=7', 'POST')).status).toBe(404);
    expect((await admin(p, '/debug/crash_worker?id=x', 'POST')).status).toBe(400);
  }, 30_000);
});
