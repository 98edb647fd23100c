// What an open-loop client did besides the latencies it timed, so a tail can
// be laid at the client's door or not: how late each request left against its
// intended time (the client's own wake-up lag is charged to the latency, as it
// must be, so a late-waking client inflates the tail of whatever it measures),
// how many requests left in one wake-up (a burst queues through every process
// on the path), and the slowest requests with their intended times on the
// epoch clock (to set beside the sidecars' GC pauses, bench/mesh-rate-probe.ts).

/** Upper bounds (ms) of the send-lag buckets; the last bucket counts the rest. */
export const SEND_LAG_BOUNDS_MS = [0.05, 0.1, 0.25, 0.5, 1, 2] as const;
/** Burst buckets: 1, 2, 3, 4 and more requests sent in one wake-up. */
export const BURST_BUCKETS = 4;
/** At most this many slow requests are kept (the first ones of the window). */
export const SLOW_KEPT = 4096;

export interface OpenLoopCounts {
  /** Requests per send-lag bucket (SEND_LAG_BOUNDS_MS, then the rest). */
  readonly sendLag: number[];
  /** Wake-ups that sent 1, 2, 3, 4+ requests. */
  readonly bursts: number[];
  /** Flat triples [intended epoch ms, latency ms, send lag ms] of measured requests over the slow threshold. */
  readonly slow: number[];
}

export class OpenLoopStats {
  readonly sendLag = new Array<number>(SEND_LAG_BOUNDS_MS.length + 1).fill(0);
  readonly bursts = new Array<number>(BURST_BUCKETS).fill(0);
  readonly slow: number[] = [];

  /** slowMs: latencies above it are kept with their intended time (Infinity: none). */
  constructor(private readonly slowMs: number) {}

  /** A measured request left lagMs after its intended time. */
  sent(lagMs: number): void {
    let b = 0;
    while (b < SEND_LAG_BOUNDS_MS.length && lagMs > SEND_LAG_BOUNDS_MS[b]!) b++;
    this.sendLag[b]!++;
  }

  /** One wake-up sent n > 0 requests. */
  burst(n: number): void {
    this.bursts[Math.min(n, BURST_BUCKETS) - 1]!++;
  }

  /** A measured request intended at intendedMs (performance.now() clock), sent lagMs late, took latencyMs. */
  answered(intendedMs: number, latencyMs: number, lagMs: number): void {
    if (latencyMs > this.slowMs && this.slow.length < 3 * SLOW_KEPT) this.slow.push(performance.timeOrigin + intendedMs, latencyMs, lagMs);
  }

  counts(): OpenLoopCounts {
    return { sendLag: this.sendLag, bursts: this.bursts, slow: this.slow };
  }
}

/** Sums per-thread counts (the slow lists are concatenated, still bounded per thread). */
export function mergeOpenLoopCounts(all: readonly OpenLoopCounts[]): OpenLoopCounts {
  const sum = (pick: (c: OpenLoopCounts) => number[]): number[] =>
    all.reduce<number[]>((acc, c) => acc.map((v, i) => v + (pick(c)[i] ?? 0)), [...(all[0] === undefined ? [] : pick(all[0]).map(() => 0))]);
  return { sendLag: sum((c) => c.sendLag), bursts: sum((c) => c.bursts), slow: all.flatMap((c) => c.slow) };
}
