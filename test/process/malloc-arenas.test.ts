// --workers N >= 2: the proxy caps glibc's malloc arenas so its threads share
// two instead of taking one each (native/malloc_tuning.cc). Counted from
// /proc/self/maps in a fresh process: a glibc arena beyond the main one is a
// 64 MB-aligned, 64 MB mapping whose first part is read-write.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { setMallocArenaMax } from '../../src/native.js';

const MALLOC_ARENAS = new URL('../../dist/src/process/malloc-arenas.js', import.meta.url).href;

function arenasAfterFourWorkers(cap: boolean, env: NodeJS.ProcessEnv = {}): { capped: boolean | null; arenas: number } {
  const script = `
    import { Worker } from 'node:worker_threads';
    import { readFileSync } from 'node:fs';
    const capped = ${cap} ? (await import(${JSON.stringify(MALLOC_ARENAS)})).capMallocArenas() : null;
    const code = "const a = []; for (let i = 0; i < 2000; i++) a.push(new Array(100).fill(i).join(',')); import('node:worker_threads').then((w) => w.parentPort.postMessage(a.length))";
    const workers = Array.from({ length: 4 }, () => new Worker(code, { eval: true }));
    await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
    const HEAP = 64n * 1024n * 1024n;
    const maps = readFileSync('/proc/self/maps', 'utf8').trim().split('\\n').map((l) => {
      const [range, perm] = l.split(' ');
      const [a, b] = range.split('-').map((x) => BigInt('0x' + x));
      return { a, b, perm };
    });
    let arenas = 0;
    for (let i = 0; i < maps.length; i++) {
      const start = maps[i].a;
      if (start % HEAP !== 0n || maps[i].perm !== 'rw-p') continue;
      let end = maps[i].b;
      for (let j = i + 1; j < maps.length && maps[j].a === end && end - start < HEAP; j++) end = maps[j].b;
      if (end - start === HEAP) arenas++;
    }
    process.stdout.write(JSON.stringify({ capped, arenas }));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH, ...env } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { capped: boolean | null; arenas: number };
}

describe('malloc arenas', () => {
  it('capped, four worker threads share the arenas instead of taking one each', () => {
    const free = arenasAfterFourWorkers(false);
    const capped = arenasAfterFourWorkers(true);
    expect(capped.capped).toBe(true);
    expect(free.arenas).toBeGreaterThanOrEqual(4);
    expect(capped.arenas).toBeLessThanOrEqual(1); // the main arena is not a mapping of its own: 2 arenas in all
  });

  it("leaves an operator's MALLOC_ARENA_MAX alone", () => {
    const r = arenasAfterFourWorkers(true, { MALLOC_ARENA_MAX: '8' });
    expect(r.capped).toBe(false);
    expect(r.arenas).toBeGreaterThanOrEqual(4);
  });

  it('refuses a count outside 1-1024 or not a number, naming the argument', () => {
    expect(() => setMallocArenaMax(0)).toThrow(/max must be between 1 and 1024/);
    expect(() => setMallocArenaMax(4096)).toThrow(RangeError);
    expect(() => setMallocArenaMax('2' as unknown as number)).toThrow(/max must be a number/);
  });
});
