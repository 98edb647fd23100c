// Messages between the load generator (main thread) and its load threads (piscina tasks).
import type { MessagePort } from 'node:worker_threads';
import type { OpenLoopCounts } from './open-loop-stats.js';

export type LoadMode = 'max' | 'fixed';

export interface LoadWorkerConfig {
  readonly host: string;
  readonly port: number;
  /** Keep-alive connections this thread opens. */
  readonly connections: number;
  /** 'max': closed loop, each connection sends again as soon as it is answered; 'fixed': open loop at ratePerSec. */
  readonly mode: LoadMode;
  /** This thread's share of the fixed rate (req/s); unused in 'max' mode. */
  readonly ratePerSec: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Fixed mode: how long to wait for answers after the last planned send before counting them as errors. */
  readonly graceMs: number;
  /** Hard cap on requests this thread sends. */
  readonly maxRequests: number;
  /** The raw request, latin1. */
  readonly request: string;
  /**
   * Fixed mode: 'per-connection' (each connection its own evenly spaced schedule, fortio -uniform's pacing,
   * woken by a sub-millisecond pacing thread) or 'shared' (one schedule, any idle connection sends; the
   * bench's pacing before, kept to compare). Default 'shared'.
   */
  readonly pacing?: Pacing;
  /** Fixed mode: measured requests slower than this (ms) are returned with their intended times. */
  readonly slowMs?: number;
}

export type Pacing = 'shared' | 'per-connection';

export interface LoadWorkerResult {
  /** Compressed HdrHistogram of latencies in µs (measured window only). */
  readonly histogram: string;
  /** Successful (status < 400) responses in the measured window. */
  readonly completed: number;
  /** Error responses, connection failures and unanswered requests in the measured window. */
  readonly errors: number;
  readonly sent: number;
  /** Fixed mode: the largest delay between a request's intended and actual send time (ms). */
  readonly maxSendLagMs: number;
  /** Fixed mode: send lags, wake-up burst sizes and the slow requests (open-loop-stats.ts). */
  readonly openLoop: OpenLoopCounts;
}

/** Sent once every connection of the task has opened or failed. */
export type WorkerToMain = { readonly type: 'connected'; readonly failed: number; readonly firstError: string };

/** 'start' opens the load on every thread at once; 'abort' ends a task early (its connections failed). */
export type MainToWorker = { readonly type: 'start' } | { readonly type: 'abort' };

/** What one piscina task receives: its share of the load and its end of a channel to the main thread. */
export interface LoadTask {
  readonly config: LoadWorkerConfig;
  readonly port: MessagePort;
}
