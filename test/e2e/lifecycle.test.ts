// Process lifecycle of `isthmus proxy`: SIGTERM drains an in-flight request
// before exiting 0, and a worker thread that dies is restarted while the
// proxy keeps serving.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapYaml, CLI, configDump, metric, request, startProxy, startUpstream, taggedBootstrap, tempDir, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

const dir = tempDir('lifecycle');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;
let proxy: RunningProxy | undefined;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
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
    const receivedBefore = upstream.seen.length;
    const slow = request(port, '/slow?ms=1000').then((r) => ({ ...r, at: Date.now() }));
    await waitFor('the upstream to receive the slow request', () => upstream.seen.length > receivedBefore);
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

  it('refuses to start when a listener port is taken, naming the listener, and exits 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as net.AddressInfo).port;
    try {
      const path = join(dir.path, 'taken.yaml');
      writeFileSync(path, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1', listenerPort: takenPort })));
      const r = spawnSync(
        process.execPath,
        [CLI, 'proxy', '--bootstrap', path, '--admin-port', '0', '--data-dir', join(dir.path, 'data-taken')],
        { encoding: 'utf8', timeout: 20_000 },
      );
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`listener 'outbound': cannot reserve 127.0.0.1:${takenPort}`);
      expect(r.stderr).toContain('EADDRINUSE');
    } finally {
      taken.close();
    }
  }, 30_000);

  it('refuses a second proxy on the same data directory, and takes over a stale lock', async () => {
    const dataDir = join(dir.path, 'data-shared');
    const first = (proxy = await startProxy({ bootstrapPath, dataDir }));
    const second = spawnSync(
      process.execPath,
      [CLI, 'proxy', '--bootstrap', bootstrapPath, '--admin-port', '0', '--data-dir', dataDir],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(`data directory ${dataDir} is in use by process ${first.child.pid}`);
    expect(await first.stop()).toBe(0);

    // A lock file whose process is gone (a crash, kill -9) does not block the next start.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(dataDir, 'owner.pid'), `${gone.stdout}\n`);
    const next = (proxy = await startProxy({ bootstrapPath, dataDir }));
    expect((await request(next.ports.get('outbound')!, '/version')).body).toBe('v1');
  }, 30_000);
});
