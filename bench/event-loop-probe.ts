// Loaded into the benchmarked control plane with `node --import` (bench
// only): samples its main thread's event-loop delay (perf_hooks'
// monitorEventLoopDelay, 1 ms timer) and, asked over the IPC channel the
// bench opened, answers with the delay since the last question. A loop
// blocked by something other than Check (config reload, LMDB, metrics, GC)
// delays every answer queued behind it; this says whether that happened
// during a run, without touching the control plane's code.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

export interface LoopDelaySample {
  readonly type: 'event-loop-delay';
  /** Milliseconds a 1 ms timer fired late (its measured interval less the 1 ms asked): percentiles and max since the previous sample. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
}

if (isMainThread && typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  process.on('message', (msg: unknown) => {
    if (msg !== 'event-loop-delay') return;
    // The histogram holds the timer's whole interval (1 ms asked): the lateness is what exceeds it.
    const late = (ns: number): number => Math.max(0, ns / 1e6 - 1);
    const sample: LoopDelaySample = {
      type: 'event-loop-delay',
      p50Ms: late(histogram.percentile(50)),
      p99Ms: late(histogram.percentile(99)),
      maxMs: late(histogram.max),
      meanMs: late(histogram.mean),
    };
    histogram.reset();
    process.send!(sample);
  });
  // The channel must not keep the control plane alive after SIGTERM.
  process.channel?.unref();
}
