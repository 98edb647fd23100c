// --workers 2 --main-thread-data-plane: worker 0's data plane serves on the
// main thread beside the agent, worker 1 on a thread; both take connections
// on the same port, reload together, and a crash of worker 1 restarts only it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapYaml, configDump, metricSum, replaceFile, request, startProxy, startUpstream, taggedBootstrap, tempDir, waitFor, type Upstream } from './harness.js';

const dir = tempDir('main-thread-dp');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
});
afterAll(async () => {
  await upstream?.close();
  dir.remove();
});

interface DumpedWorker { workerId: number; state: string; appliedVersion: number; threadId: number | null; restarts: number }

describe('--main-thread-data-plane', () => {
  it('serves from the main thread and one worker thread, reloads both, and restarts only the thread that crashed', async () => {
    const p = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data'), workers: 2, args: ['--main-thread-data-plane', '--enable-debug-endpoints'] });
    try {
      const port = p.ports.get('outbound')!;
      const info = JSON.parse((await admin(p, '/server_info')).body) as { thread_model: string; command_line_options: { concurrency: number } };
      expect(info.thread_model).toBe('main-thread-and-workers');
      expect(info.command_line_options.concurrency).toBe(2);
      const workers = () => (configDump(p) as Promise<{ workers: DumpedWorker[] }>).then((d) => d.workers);
      const before = await workers();
      expect(before).toEqual([
        expect.objectContaining({ workerId: 0, state: 'running', appliedVersion: 1, threadId: 0 }),
        expect.objectContaining({ workerId: 1, state: 'running', appliedVersion: 1 }),
      ]);
      expect(before[1]!.threadId).toBeGreaterThan(0);

      // Each request on a new connection: SO_REUSEPORT spreads them over both data planes; all are answered.
      for (let i = 0; i < 60; i++) expect((await request(port, `/mixed/${i}`)).body).toBe(`upstream /mixed/${i}\n`);
      expect(metricSum((await admin(p, '/stats/prometheus')).body, 'istio_requests_total', 'response_code="200"')).toBe(60);

      replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v2' })));
      await waitFor('both data planes to apply v2', async () => (await workers()).every((w) => w.appliedVersion === 2 && w.state === 'running'));
      for (let i = 0; i < 20; i++) expect((await request(port, '/version')).body).toBe('v2');

      const main = await admin(p, '/debug/crash_worker?id=0', 'POST');
      expect(main.status).toBe(409);
      expect(main.body).toContain('--main-thread-data-plane');
      expect((await admin(p, '/debug/crash_worker?id=1', 'POST')).status).toBe(200);
      await waitFor('worker 1 to restart', async () => (await workers())[1]!.restarts === 1 && (await workers())[1]!.state === 'running');
      for (let i = 0; i < 20; i++) expect((await request(port, `/after/${i}`)).status).toBe(200);
      expect(p.child.exitCode).toBeNull();
    } finally {
      replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
      await p.stop('SIGKILL');
    }
  }, 60_000);
});
