// The tracing CPU rounds' arithmetic (bench/tracing-cpu.ts): medians and
// interquartile ranges of the proxy's CPU per request, the throughput ratio
// each round gives (a proxy bottlenecked on its own core does 1/CPU-per-request
// requests a second, so traced/untraced throughput = cpu_off / cpu_on), the
// verdict against issue 16's goals, and the check that a traced row really
// sent spans at its sampling rate. Pure functions, unit-tested with known inputs.

/**
 * Median and quartiles (linear interpolation between closest ranks, as R's type 7 and numpy's default), and the
 * median's distribution-free 95% confidence interval (order statistics; with 20 values, about the quartiles; it
 * narrows as rounds are added, the quartiles do not).
 */
export interface Spread {
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly ciLow: number;
  readonly ciHigh: number;
}

/** takes sorted numbers and q in [0, 1]; returns the q-quantile (NaN when empty). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * takes a count n; returns k (1-based) such that [x_(k), x_(n-k+1)] of n sorted values is a 95% confidence interval
 * of their median: the largest k with P(Binomial(n, 1/2) < k) <= 0.025; 1 (min to max) when n is too small for that.
 */
export function medianCiRank(n: number): number {
  let k = 0;
  let below = 0; // P(X < k+1) as k grows
  // P(X = j) kept as a logarithm: 0.5 ** n underflows to 0 past n = 1074, which would give k = n (an inverted interval).
  let logTerm = -n * Math.LN2; // P(X = 0)
  for (let j = 0; j < n; j++) {
    below += Math.exp(logTerm);
    if (below > 0.025) break;
    k = j + 1;
    logTerm += Math.log(n - j) - Math.log(j + 1);
  }
  return Math.max(1, k);
}

/** takes numbers (NaN and infinities left out); returns their median, quartiles and the median's 95% interval. */
export function spreadOf(values: readonly number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const k = medianCiRank(sorted.length);
  return {
    median: quantile(sorted, 0.5), q1: quantile(sorted, 0.25), q3: quantile(sorted, 0.75),
    ciLow: sorted.length === 0 ? NaN : sorted[k - 1]!, ciHigh: sorted.length === 0 ? NaN : sorted[sorted.length - k]!,
  };
}

/** Issue 16's goals: the most throughput tracing may cost, by sampling percent. */
export const TRACING_COST_GOALS: ReadonlyMap<number, number> = new Map([
  [1, 0.02],
  [100, 0.1],
]);

export type Verdict = 'met' | 'not met' | 'unsettled';

/**
 * takes the spread of the throughput ratio (traced / untraced) and the most it may cost (0.02 for 2%); returns
 * 'met' only when the low end of the median's 95% interval keeps within the goal, 'not met' when even its high end
 * does not, else 'unsettled' (the interval straddles the goal: more rounds or a quieter machine).
 */
export function verdict(ratio: Spread, maxCost: number): Verdict {
  const floor = 1 - maxCost;
  if (ratio.ciLow >= floor) return 'met';
  if (ratio.ciHigh < floor) return 'not met';
  return 'unsettled';
}

/**
 * takes per-round CPU per request untraced and traced (the same rounds, in order); returns the spread of the
 * per-round throughput ratio cpu_off / cpu_on (rounds are paired: each pair ran back to back, so drift in the
 * machine's load cancels more than it would between medians of separate rows).
 */
export function ratioSpread(off: readonly number[], on: readonly number[]): Spread {
  if (off.length !== on.length) throw new Error(`ratioSpread: ${off.length} untraced rounds vs ${on.length} traced`);
  return spreadOf(off.map((v, i) => v / on[i]!));
}

/**
 * takes a sampling percent, requests sent and spans the collector received over them; returns null when the count
 * fits the rate (100%: at least 99% of requests, i.e. the proxy dropped almost none; p%: within 5 standard
 * deviations of the binomial count, plus 2), else what is wrong, so the bench never reports an untraced proxy
 * (or one that shed its spans) as a traced one.
 */
export function spanCountProblem(percent: number, requests: number, spans: number): string | null {
  const p = percent / 100;
  const expected = requests * p;
  if (percent >= 100) {
    return spans >= 0.99 * requests ? null : `received ${spans} spans for ${requests} requests at 100% sampling (${requests - spans} missing: dropped or never sent)`;
  }
  const slack = 5 * Math.sqrt(requests * p * (1 - p)) + 2;
  return Math.abs(spans - expected) <= slack ? null : `received ${spans} spans for ${requests} requests at ${percent}% sampling (expected ${Math.round(expected)} ± ${Math.round(slack)})`;
}

/** One row's measured rounds. */
export interface CpuRows {
  /** µs of proxy CPU per request per round, from the threads' schedstat run time (ns resolution). */
  readonly cpuUs: readonly number[];
  /** The same from /proc/PID/stat utime+stime (10 ms ticks: coarse, a cross-check). */
  readonly statUs: readonly number[];
  /** perf instructions (user + kernel, or user alone where the kernel's are not allowed) per request, when perf counts them. */
  readonly instructions: readonly number[];
}

export interface TracingRatio {
  readonly build: string;
  readonly percent: number;
  /** The most this sampling may cost (0.02), null when issue 16 sets no goal for it. */
  readonly goal: number | null;
  /** Throughput traced / untraced from CPU per request, per round. */
  readonly ratio: Spread;
  /** The same from instructions per request, when perf counted them. */
  readonly instructionRatio: Spread | null;
  /** null when there is no goal; 'invalid' when the row's span count is wrong (see problem). */
  readonly verdict: Verdict | 'invalid' | null;
  readonly problem: string | null;
}

/** takes the untraced and traced rows of one build, the sampling percent and the traced row's span count; returns the ratio and verdict. */
export function compareRows(build: string, percent: number, off: CpuRows, on: CpuRows, requests: number, spans: number): TracingRatio {
  const goal = TRACING_COST_GOALS.get(percent) ?? null;
  const ratio = ratioSpread(off.cpuUs, on.cpuUs);
  const instructionRatio = off.instructions.length > 0 && off.instructions.length === on.instructions.length ? ratioSpread(off.instructions, on.instructions) : null;
  const problem = spanCountProblem(percent, requests, spans);
  const judged = goal === null ? null : problem !== null ? 'invalid' : verdict(ratio, goal);
  return { build, percent, goal, ratio, instructionRatio, verdict: judged, problem };
}
