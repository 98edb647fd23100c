// With two or more worker threads the proxy's peak RSS comes in the first
// second under load, not from what it holds: each worker isolate's optimizing
// compiler (TurboFan) compiles the hot request path at once, and its zones
// (the graph of a function with everything inlined into it) reach 3-5 MB per
// isolate for a few hundred milliseconds (--trace-zone-stats), both workers
// together. Halving V8's budget of bytecode inlined into one function (920 ->
// 460 bytes, --max-inlined-bytecode-size-cumulative) halves the largest
// graphs. `--workers 2` under the bench's load, medians of interleaved runs
// on a loaded machine: peak RSS 68.4 -> 65.7 MB and CPU per request 19.0 ->
// 19.3 us (6 runs; the runs' own spread 18.3-19.9), then 67.4 -> 65.8 MB and
// 18.9 -> 18.4 us (5 runs). One isolate (--workers 1) peaks while
// starting, not here, so it keeps V8's budget. V8 flags are per process and
// read at each compile, so setting it before the workers start covers them.
import { setFlagsFromString } from 'node:v8';

/** Bytecode bytes V8 may inline into one optimized function; V8's own default is 920. */
export const WORKER_INLINING_BUDGET_BYTES = 460;

/** Takes the number of data planes; with 2 or more, lowers V8's inlining budget (process-wide, from now on); returns whether it did. */
export function limitInliningForWorkers(workers: number): boolean {
  if (workers < 2) return false;
  setFlagsFromString(`--max-inlined-bytecode-size-cumulative=${WORKER_INLINING_BUDGET_BYTES}`);
  return true;
}
