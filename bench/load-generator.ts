// Runs one load test: spreads connections (and the fixed rate) over worker
// threads as piscina tasks, one per thread, starts them together once every
// connection is open (so connecting is not measured), and merges their
// histograms and counters.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { compiledSibling } from '../src/process/compiled-path.js';
import { mergeEncodedHistograms, encodeHistogram, summarizeLatency, type LatencySummary } from './latency-histogram.js';
import { mergeOpenLoopCounts, type OpenLoopCounts } from './open-loop-stats.js';
import type { LoadMode, LoadTask, Pacing, LoadWorkerConfig, LoadWorkerResult, MainToWorker, WorkerToMain } from './load-protocol.js';

export interface LoadOptions {
  readonly port: number;
  readonly host?: string;
  /** Host header; default host:port. */
  readonly authority?: string;
  readonly path?: string;
  readonly mode: LoadMode;
  readonly connections: number;
  /** Total fixed rate in req/s ('fixed' mode). */
  readonly rate: number;
  readonly threads: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Fixed mode: wait this long for late answers; default 2000. */
  readonly graceMs?: number;
  /** Cap on requests over all threads; default 50 million. */
  readonly maxRequests?: number;
  /** Called when the measured window opens and closes (to sample CPU of the processes under test). */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
  /** Fixed mode: how requests are paced over the connections (load-protocol.ts); default 'per-connection'. */
  readonly pacing?: Pacing;
  /** Fixed mode: measured requests slower than this (ms) come back in openLoop.slow; default none. */
  readonly slowMs?: number;
}

export interface LoadResult extends LatencySummary {
  readonly mode: LoadMode;
  /** Successful responses per second over the measured window. */
  readonly rps: number;
  readonly completed: number;
  readonly errors: number;
  readonly maxSendLagMs: number;
  /** Every latency of the window (µs), merged over threads, HdrHistogram compressed base64. */
  readonly histogram: string;
  readonly threads: number;
  /** Fixed mode: send lags, burst sizes, slow requests, over every thread. */
  readonly openLoop: OpenLoopCounts;
}

/** Builds the raw GET request every client sends: the same bytes wrk sends, so the two compare. */
export function buildRequest(authority: string, path = '/'): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`;
}

/** Splits `total` into `parts` near-equal integers (earlier parts take the remainder). */
export function splitEvenly(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const host = options.host ?? '127.0.0.1';
  const threads = Math.max(1, Math.min(options.threads, options.connections));
  const connectionShares = splitEvenly(options.connections, threads);
  const maxRequests = options.maxRequests ?? 50_000_000;
  const request = buildRequest(options.authority ?? `${host}:${options.port}`, options.path);
  // One task per thread, each task holds its thread until its load is done; 'disabled' atomics
  // keep an idle thread's event loop free (a task's sockets live on it).
  const pool = new Piscina({
    filename: compiledSibling(import.meta.url, 'load-worker.js'),
    minThreads: threads,
    maxThreads: threads,
    concurrentTasksPerWorker: 1,
    atomics: 'disabled',
    idleTimeout: 60_000,
  });
  const ports: MessagePort[] = [];
  const windowTimers: NodeJS.Timeout[] = [];
  try {
    const connected: Promise<WorkerToMain>[] = [];
    const tasks = connectionShares.map((connections) => {
      const config: LoadWorkerConfig = {
        host,
        port: options.port,
        connections,
        mode: options.mode,
        ratePerSec: (options.rate * connections) / options.connections,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        graceMs: options.graceMs ?? 2000,
        maxRequests: Math.ceil((maxRequests * connections) / options.connections),
        request,
        pacing: options.pacing ?? 'per-connection',
        ...(options.slowMs === undefined ? {} : { slowMs: options.slowMs }),
      };
      const { port1, port2 } = new MessageChannel();
      ports.push(port1);
      connected.push(new Promise((resolve) => port1.once('message', resolve)));
      const task: LoadTask = { config, port: port2 };
      return pool.run(task, { transferList: [port2] }) as Promise<LoadWorkerResult>;
    });
    // A task that fails before connecting must not leave the others waiting for it.
    const failed = Promise.all(tasks).then(() => new Promise<never>(() => {}));
    const outcomes = await Promise.race([Promise.all(connected), failed]);
    const failures = outcomes.reduce((n, m) => n + m.failed, 0);
    if (failures === options.connections) {
      for (const port of ports) port.postMessage({ type: 'abort' } satisfies MainToWorker);
      await Promise.allSettled(tasks);
      const reason = outcomes.find((m) => m.firstError !== '')?.firstError ?? 'unknown';
      throw new Error(`no connection to ${host}:${options.port} could be opened (${reason})`);
    }
    for (const port of ports) port.postMessage({ type: 'start' } satisfies MainToWorker);
    // Each hook fires exactly once: on its timer, or when the threads finish first.
    let started = false;
    let ended = false;
    const windowStart = (): void => {
      if (!started) (started = true), options.onWindowStart?.();
    };
    const windowEnd = (): void => {
      windowStart();
      if (!ended) (ended = true), options.onWindowEnd?.();
    };
    windowTimers.push(setTimeout(windowStart, options.warmupMs));
    windowTimers.push(setTimeout(windowEnd, options.warmupMs + options.durationMs));
    const results = await Promise.all(tasks);
    windowEnd();
    return combineResults(options.mode, options.durationMs, results);
  } finally {
    for (const timer of windowTimers) clearTimeout(timer);
    for (const port of ports) port.close();
    await pool.destroy();
  }
}

/** Merges per-thread results into one (exported for tests). */
export function combineResults(mode: LoadMode, durationMs: number, results: readonly LoadWorkerResult[]): LoadResult {
  const histogram = mergeEncodedHistograms(results.map((r) => r.histogram));
  const summary = summarizeLatency(histogram);
  const encoded = encodeHistogram(histogram);
  histogram.destroy();
  const completed = results.reduce((n, r) => n + r.completed, 0);
  return {
    mode,
    ...summary,
    rps: Math.round((completed * 1000) / durationMs),
    completed,
    errors: results.reduce((n, r) => n + r.errors, 0),
    maxSendLagMs: Math.max(0, ...results.map((r) => r.maxSendLagMs)),
    histogram: encoded,
    threads: results.length,
    openLoop: mergeOpenLoopCounts(results.map((r) => r.openLoop)),
  };
}
