// One measured load run against one running target, as a RunSample: the load
// (bench/load-generator.ts, or wrk for the baseline row) plus the CPU and peak
// RSS of the target's processes and of the upstream, sampled from /proc at the
// measured window's start and end, plus what the target did meanwhile (reloads).
import type { BenchOptions } from './bench-options.js';
import { runLoad, type LoadResult } from './load-generator.js';
import { realtimeWindow } from './rt-priority.js';
import type { LoadMode } from './load-protocol.js';
import { cpuSecondsPer1k, sampleProcess, type ProcessUsage } from './process-sampler.js';
import type { RunSample } from './result-row.js';
import type { LoadTarget, RunningTarget } from './scenarios.js';
import { runWrk } from './wrk-baseline.js';

/** The usage of several processes together; null when any of them is gone (or there are none). */
export function sampleAll(pids: readonly number[]): ProcessUsage | null {
  if (pids.length === 0) return null;
  let cpuSeconds = 0;
  let peakRssMb = 0;
  try {
    for (const pid of pids) {
      const usage = sampleProcess(pid);
      cpuSeconds += usage.cpuSeconds;
      peakRssMb += usage.peakRssMb;
    }
  } catch {
    return null;
  }
  return { cpuSeconds, peakRssMb: Math.round(peakRssMb * 10) / 10 };
}

export async function measureLoad(options: BenchOptions, spec: LoadTarget, running: RunningTarget, mode: LoadMode, upstreamPid: number): Promise<RunSample> {
  let targetBefore: ProcessUsage | null = null;
  let targetAfter: ProcessUsage | null = null;
  let upstreamBefore: ProcessUsage | null = null;
  let upstreamAfter: ProcessUsage | null = null;
  let counts: Record<string, number> | undefined;
  const threads = mode === 'max' ? options.threads : 1;
  const connections = mode === 'max' ? options.connections : options.fixedConnections;
  // --rt: the path real-time for the fixed-rate window only (a closed loop would take the machine).
  let realtime: { end(): void } | null = null;
  let realtimeError: Error | null = null;
  let result: LoadResult;
  try {
    result = await runLoad({
      port: running.port,
      mode,
      connections,
      rate: options.rate,
      threads,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      onWindowStart: () => {
        if (options.rt && mode === 'fixed') {
          try {
            realtime = realtimeWindow([process.pid, upstreamPid, ...running.pids]);
          } catch (err) {
            realtimeError = err as Error;
          }
        }
        targetBefore = sampleAll(running.pids);
        upstreamBefore = sampleAll([upstreamPid]);
        running.duringLoad?.start();
      },
      onWindowEnd: () => {
        counts = running.duringLoad?.end();
        targetAfter = sampleAll(running.pids);
        upstreamAfter = sampleAll([upstreamPid]);
        (realtime as { end(): void } | null)?.end();
        realtime = null;
      },
    });
  } finally {
    // A load that failed mid-window must not leave the path real-time.
    (realtime as { end(): void } | null)?.end();
  }
  if (realtimeError !== null) throw realtimeError;
  const perK = (before: ProcessUsage | null, after: ProcessUsage | null): number | null =>
    before === null || after === null ? null : cpuSecondsPer1k(before, after, result.completed + result.errors);
  return {
    scenario: spec.scenario,
    target: spec.target,
    label: spec.label,
    mode,
    client: 'isthmus-bench',
    connections,
    rate: mode === 'fixed' ? options.rate : null,
    rps: result.rps,
    p50_ms: result.p50_ms,
    p90_ms: result.p90_ms,
    p99_ms: result.p99_ms,
    p999_ms: result.p999_ms,
    max_ms: result.max_ms,
    errors: result.errors,
    cpu_s_per_1k: perK(targetBefore, targetAfter),
    peak_rss_mb: (targetAfter as ProcessUsage | null)?.peakRssMb ?? null,
    upstream_cpu_s_per_1k: perK(upstreamBefore, upstreamAfter),
    client_threads: result.threads,
    histogram: result.histogram,
    ...(counts === undefined ? {} : { counts }),
  };
}

/** `wrk -t1` against the upstream, as the direct scenario's client baseline row. */
export async function measureWrk(binary: string, options: BenchOptions, port: number, upstreamPid: number, dir: string): Promise<RunSample> {
  const before = sampleAll([upstreamPid]);
  const wrk = await runWrk(binary, port, options.connections, options.durationMs, dir);
  const after = sampleAll([upstreamPid]);
  const requests = Math.round((wrk.rps * Math.max(1, Math.round(options.durationMs / 1000))));
  return {
    scenario: 'direct',
    target: 'direct',
    label: 'wrk -t1',
    mode: 'max',
    client: 'wrk',
    connections: options.connections,
    rate: null,
    rps: wrk.rps,
    p50_ms: wrk.p50_ms,
    p90_ms: wrk.p90_ms,
    p99_ms: wrk.p99_ms,
    p999_ms: wrk.p999_ms,
    max_ms: wrk.max_ms,
    errors: wrk.errors,
    cpu_s_per_1k: null,
    peak_rss_mb: null,
    upstream_cpu_s_per_1k: before === null || after === null ? null : cpuSecondsPer1k(before, after, requests),
    client_threads: 1,
    histogram: null,
    spectrum: wrk.spectrum,
  };
}
