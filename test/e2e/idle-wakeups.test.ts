// An idle proxy sleeps: with no request and no config change its threads do
// not wake on timers many times a second (each wake-up of the data-plane
// thread is one a request arriving then waits behind, and on a laptop or a
// dense node every wake-up costs power and CPU). Measured from the kernel's
// count of voluntary context switches (each sleep in epoll_wait/futex is one)
// of every thread of the proxy process over a few idle seconds. Under a light
// steady load the access log is written in batches, not every 100 ms.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapYaml, request, startProxy, startUpstream, taggedBootstrap, tempDir, type RunningProxy, type Upstream } from './harness.js';

/** Wake-ups a second an idle proxy may make over all its threads (the agent's few periodic jobs, the safety poll). */
const MAX_IDLE_WAKES_PER_SECOND = 12;
const IDLE_SECONDS = 3;

const dir = tempDir('idle-wakeups');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;
let proxy: RunningProxy | undefined;

/** Voluntary context switches of every thread of `pid` (a thread that exited meanwhile is left out). */
function voluntarySwitches(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const m = /voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
      total += Number(m?.[1] ?? 0);
    } catch {
      // the thread ended between readdir and read
    }
  }
  return total;
}

/** Write-family syscalls (write, pwrite, writev) the process made so far (/proc/PID/io syscw). */
function fileWrites(pid: number): number {
  return Number(/syscw:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? NaN);
}

async function idleWakesPerSecond(p: RunningProxy): Promise<number> {
  const port = p.ports.get('outbound')!;
  for (let i = 0; i < 20; i++) expect((await request(port, `/warm/${i}`)).status).toBe(200);
  // Let start-up work (compilation, the first GCs) finish before counting.
  await new Promise((r) => setTimeout(r, 1500));
  const pid = p.child.pid!;
  const before = voluntarySwitches(pid);
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const rate = (voluntarySwitches(pid) - before) / IDLE_SECONDS;
  return rate;
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

describe('an idle proxy', () => {
  it(`wakes at most ${MAX_IDLE_WAKES_PER_SECOND} times a second with one thread (no 50 Hz host-set poll)`, async () => {
    proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-1'), workers: 1 });
    expect(await idleWakesPerSecond(proxy)).toBeLessThanOrEqual(MAX_IDLE_WAKES_PER_SECOND);
  });

  it(`wakes at most ${MAX_IDLE_WAKES_PER_SECOND} times a second with two worker threads`, async () => {
    proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-2'), workers: 2 });
    expect(await idleWakesPerSecond(proxy)).toBeLessThanOrEqual(MAX_IDLE_WAKES_PER_SECOND);
  });
});

describe('a proxy under a light steady load', () => {
  it('writes its access log in a few batches a second, not one every 100 ms', async () => {
    proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-log'), workers: 1, accessLog: 'file' });
    const port = proxy.ports.get('outbound')!;
    const pid = proxy.child.pid!;
    for (let i = 0; i < 20; i++) expect((await request(port, `/warm/${i}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    // write-family syscalls of the process: the log's file writes and the threadpool's completion signals (its
    // sockets are written with send/sendmsg, which this count leaves out).
    const before = fileWrites(pid);
    const started = Date.now();
    let sent = 0;
    while (Date.now() - started < 3000 && sent < 600) {
      expect((await request(port, `/steady/${sent++}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 5));
    }
    const seconds = (Date.now() - started) / 1000;
    const perSecond = (fileWrites(pid) - before) / seconds;
    expect(sent).toBeGreaterThan(100);
    expect(perSecond).toBeLessThanOrEqual(6);
    // Every line still reaches the file (within the flush interval).
    const logPath = join(proxy.dir, 'access.log');
    const deadline = Date.now() + 5000;
    const steadyLines = (): number => readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('/steady/')).length;
    while (steadyLines() < sent && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(steadyLines()).toBe(sent);
  });
});
