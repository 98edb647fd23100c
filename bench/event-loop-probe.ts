// Loaded into the benchmarked control plane with `node --import` (bench
// only): samples its main thread's event-loop delay (perf_hooks'
// monitorEventLoopDelay, 1 ms timer) and its garbage collections (perf_hooks'
// 'gc' entries: how many, how long each paused the thread, by kind) and,
// asked over the IPC channel the bench opened, answers with both since the
// last question. A loop blocked by something other than Check (config
// reload, LMDB, metrics, GC) delays every answer queued behind it; this says
// whether that happened during a run, without touching the control plane's
// code.
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

export interface GcSample {
  /** Collections since the previous sample: young-generation scavenges, and the rest (mark-compact, incremental steps, weak callbacks). */
  readonly scavenges: number;
  readonly others: number;
  /** Pause lengths in milliseconds: p50, p99 and max over all collections, and their sum. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly totalMs: number;
}

export interface LoopDelaySample {
  readonly type: 'event-loop-delay';
  /** Milliseconds a 1 ms timer fired late (its measured interval less the 1 ms asked): percentiles and max since the previous sample. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** Absent from a probe that predates it. */
  readonly gc?: GcSample;
}

/** Bounds the pause list between two samples (a 10 s run at 5000/s makes a few hundred). */
const MAX_PAUSES = 100_000;

/** takes sorted values and a quantile; returns the value at it (0 for none). */
function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

if (isMainThread && typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let pauses: number[] = [];
  let scavenges = 0;
  let others = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
      else others++;
      if (pauses.length < MAX_PAUSES) pauses.push(entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (msg: unknown) => {
    if (msg !== 'event-loop-delay') return;
    // The histogram holds the timer's whole interval (1 ms asked): the lateness is what exceeds it.
    const late = (ns: number): number => Math.max(0, ns / 1e6 - 1);
    const sorted = pauses.sort((a, b) => a - b);
    const sample: LoopDelaySample = {
      type: 'event-loop-delay',
      p50Ms: late(histogram.percentile(50)),
      p99Ms: late(histogram.percentile(99)),
      maxMs: late(histogram.max),
      meanMs: late(histogram.mean),
      gc: { scavenges, others, p50Ms: quantile(sorted, 0.5), p99Ms: quantile(sorted, 0.99), maxMs: sorted.at(-1) ?? 0, totalMs: sorted.reduce((a, b) => a + b, 0) },
    };
    histogram.reset();
    pauses = [];
    scavenges = 0;
    others = 0;
    process.send!(sample);
  });
  // The channel must not keep the control plane alive after SIGTERM.
  process.channel?.unref();
}
