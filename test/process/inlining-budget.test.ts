// `isthmus proxy --workers N >= 2` lowers V8's inlining budget before its
// worker isolates compile (src/process/inlining-budget.ts); one data plane
// keeps V8's own. Run in a fresh process: the flag is process-wide.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const INLINING_BUDGET = new URL('../../dist/src/process/inlining-budget.js', import.meta.url).href;

/** Takes a worker count; returns what limitInliningForWorkers said and whether a worker thread then still optimizes code (V8 accepted the flag). */
function run(workers: number): { limited: boolean; workerResult: number } {
  const script = `
    import { Worker } from 'node:worker_threads';
    const { limitInliningForWorkers } = await import(${JSON.stringify(INLINING_BUDGET)});
    const limited = limitInliningForWorkers(${workers});
    const w = new Worker('let s = 0; const f = (x) => x * 2 + 1; for (let i = 0; i < 2e6; i++) s = (s + f(i)) % 1000003; require("node:worker_threads").parentPort.postMessage(s)', { eval: true, execArgv: [] });
    const workerResult = await new Promise((r) => w.once('message', r));
    process.stdout.write(JSON.stringify({ limited, workerResult }));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { limited: boolean; workerResult: number };
}

describe('inlining budget', () => {
  it('is lowered with two or more data planes, and workers then run as before', () => {
    const two = run(2);
    const one = run(1);
    expect(two.limited).toBe(true);
    expect(one.limited).toBe(false);
    expect(two.workerResult).toBe(one.workerResult);
  });
});
