// Runs one load test: spreads connections (and the fixed rate) over worker
// threads, starts them together once every connection is open (so connecting
// is not measured), and merges their histograms and counters.
import { Worker } from 'node:worker_threads';
import { compiledSibling } from '../src/process/compiled-path.js';
import { mergeEncodedHistograms, summarizeLatency, type LatencySummary } from './latency-histogram.js';
import type { LoadMode, LoadWorkerConfig, LoadWorkerResult, WorkerToMain } from './load-protocol.js';

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
}

export interface LoadResult extends LatencySummary {
  readonly mode: LoadMode;
  /** Successful responses per second over the measured window. */
  readonly rps: number;
  readonly completed: number;
  readonly errors: number;
  readonly maxSendLagMs: number;
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
  const script = compiledSibling(import.meta.url, 'load-worker.js');

  const workers = connectionShares.map((connections) => {
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
    };
    return new Worker(script, { workerData: config });
  });

  const windowTimers: NodeJS.Timeout[] = [];
  try {
    const connected = workers.map((w) => nextMessage(w, 'connected'));
    const outcomes = await Promise.all(connected);
    const failed = outcomes.reduce((n, m) => n + (m.type === 'connected' ? m.failed : 0), 0);
    if (failed === options.connections) {
      const first = outcomes.find((m) => m.type === 'connected' && m.firstError !== '');
      const reason = first?.type === 'connected' ? first.firstError : 'unknown';
      throw new Error(`no connection to ${host}:${options.port} could be opened (${reason})`);
    }
    const done = workers.map((w) => nextMessage(w, 'done'));
    for (const w of workers) w.postMessage({ type: 'start' });
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
    const results = (await Promise.all(done)).map((m) => (m as { result: LoadWorkerResult }).result);
    windowEnd();
    return combineResults(options.mode, options.durationMs, results);
  } finally {
    for (const timer of windowTimers) clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** Merges per-thread results into one (exported for tests). */
export function combineResults(mode: LoadMode, durationMs: number, results: readonly LoadWorkerResult[]): LoadResult {
  const histogram = mergeEncodedHistograms(results.map((r) => r.histogram));
  const summary = summarizeLatency(histogram);
  histogram.destroy();
  const completed = results.reduce((n, r) => n + r.completed, 0);
  return {
    mode,
    ...summary,
    rps: Math.round((completed * 1000) / durationMs),
    completed,
    errors: results.reduce((n, r) => n + r.errors, 0),
    maxSendLagMs: Math.max(0, ...results.map((r) => r.maxSendLagMs)),
  };
}

function nextMessage(worker: Worker, type: WorkerToMain['type']): Promise<WorkerToMain> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerToMain): void => {
      if (message.type !== type) return;
      cleanup();
      resolve(message);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`load worker exited (code ${code}) before '${type}'`));
    };
    const cleanup = (): void => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
  });
}
