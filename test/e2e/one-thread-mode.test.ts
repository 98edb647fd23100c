// One-thread mode: with --workers 1 (the default) the data plane runs on the
// main thread beside the agent, with no worker isolate; everything the admin
// API does with workers works the same. --workers 2 still uses threads. A
// proxy loads only the packages its role uses (no @grpc/* or protos without
// --control, no lmdb with one thread).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapYaml, configDump, metricSum, replaceFile, request, startProxy, startUpstream, taggedBootstrap, tempDir, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';
import { countMallocArenas } from '../support/malloc-arenas.js';

interface ServerInfo {
  thread_model: string;
  loaded_packages: string[];
  command_line_options: { concurrency: number };
}

const dir = tempDir('one-thread');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;
let proxy: RunningProxy | undefined;

async function serverInfo(p: RunningProxy): Promise<ServerInfo> {
  return JSON.parse((await admin(p, '/server_info')).body) as ServerInfo;
}

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

describe('--workers 1: the data plane on the main thread', () => {
  it('serves, reloads, and answers /stats, /clusters and /logging from the main thread', async () => {
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-serve'), workers: 1, args: ['--enable-debug-endpoints'] }));
    const port = p.ports.get('outbound')!;
    const info = await serverInfo(p);
    expect(info.thread_model).toBe('main-thread');
    expect(info.command_line_options.concurrency).toBe(1);
    const dump = (await configDump(p)) as Awaited<ReturnType<typeof configDump>> & { threadModel: string; workers: { threadId: number }[] };
    expect(dump.threadModel).toBe('main-thread');
    // threadId 0 is the main thread: no worker thread was started.
    expect(dump.workers).toEqual([expect.objectContaining({ workerId: 0, state: 'running', appliedVersion: 1, threadId: 0 })]);

    for (let i = 0; i < 10; i++) expect((await request(port, `/one/${i}`)).body).toBe(`upstream /one/${i}\n`);
    const stats = (await admin(p, '/stats/prometheus')).body;
    expect(metricSum(stats, 'istio_requests_total', 'response_code="200"')).toBe(10);
    expect((await admin(p, '/clusters')).body).toContain(`backend::127.0.0.1:${upstream.port}::rq_total::10\n`);

    replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v2' })));
    await waitFor('the reload to serve v2', async () => (await request(port, '/version')).body === 'v2');
    expect((await configDump(p)).workers[0]).toMatchObject({ appliedVersion: 2, state: 'running' });

    expect((await admin(p, '/logging?level=debug', 'POST')).status).toBe(200);
    expect((await admin(p, '/logging')).body).toContain('debug');
    // There is no thread to end: the debug endpoint says so instead of killing the process.
    const crash = await admin(p, '/debug/crash_worker?id=0', 'POST');
    expect(crash.status).toBe(409);
    expect(crash.body).toContain('main thread');
    expect((await request(port, '/still-serving')).status).toBe(200);
    replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
  }, 30_000);

  it('drains an in-flight request on SIGTERM, then exits 0', async () => {
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-term'), workers: 1 }));
    const port = p.ports.get('outbound')!;
    const seenBefore = upstream.seen.length;
    const slow = request(port, '/slow?ms=800');
    await waitFor('the upstream to receive the slow request', () => upstream.seen.length > seenBefore);
    p.child.kill('SIGTERM');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(response.body).toBe('upstream /slow\n');
    expect(await p.exited).toBe(0);
    expect(p.lines.some((l) => l.msg === 'proxy stopped')).toBe(true);
  }, 30_000);

  it('without --control loads neither @grpc/* nor protobufjs, and with one thread not lmdb', async () => {
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-packages'), workers: 1 }));
    await request(p.ports.get('outbound')!, '/warm');
    const { loaded_packages: loaded } = await serverInfo(p);
    expect(loaded).toContain('pino'); // the list is real: what the proxy does use is in it
    expect(loaded.filter((name) => name.startsWith('@grpc/') || name === 'protobufjs' || name.startsWith('@protobufjs/'))).toEqual([]);
    expect(loaded.filter((name) => name.includes('lmdb') || name.includes('msgpackr'))).toEqual([]);
  }, 30_000);
});

describe('--workers 2: worker threads', () => {
  it('runs the data plane in two worker threads that read config from LMDB', async () => {
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-two'), workers: 2 }));
    const info = await serverInfo(p);
    expect(info.thread_model).toBe('worker-threads');
    const dump = (await configDump(p)) as Awaited<ReturnType<typeof configDump>> & { threadModel: string; workers: { threadId: number }[] };
    expect(dump.threadModel).toBe('worker-threads');
    expect(dump.workers).toHaveLength(2);
    for (const w of dump.workers) expect(w.threadId).toBeGreaterThan(0);
    expect(info.loaded_packages).toContain('lmdb');
    const port = p.ports.get('outbound')!;
    expect((await request(port, '/two')).body).toBe('upstream /two\n');
    // A reload reaches both threads (announced on the BroadcastChannel, read from LMDB).
    replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v2' })));
    await waitFor('both workers to apply v2', async () => (await configDump(p)).workers.every((w) => w.appliedVersion === 2 && w.state === 'running'));
    for (let i = 0; i < 5; i++) expect((await request(port, '/version')).body).toBe('v2');
    // The threads (V8's, both workers', LMDB's) share two malloc arenas (bin/isthmus.js caps them first thing).
    expect(countMallocArenas(p.child.pid!)).toBeLessThanOrEqual(1);
    replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
  }, 30_000);
});
