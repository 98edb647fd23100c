// An idle proxy sleeps: with no request and no config change its threads do
// not wake on timers many times a second (each wake-up of the data-plane
// thread is one a request arriving then waits behind, and on a laptop or a
// dense node every wake-up costs power and CPU). Measured from the kernel's
// count of voluntary context switches (each sleep in epoll_wait/futex is one)
// of every thread of the proxy process over a few idle seconds.
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
