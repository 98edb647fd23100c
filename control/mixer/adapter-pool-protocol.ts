// The messages between the control plane's gRPC thread and its adapter pool
// threads (piscina tasks and their answers). Everything here is structured-
// clonable: handler params were validated by the adapter's parseParams.
import type { CheckResult, InstanceValue, QuotaArgs, QuotaResult } from './adapter.js';
import type { ReportRows } from './report-rows.js';

/** One handler resource as a pool thread makes it: `fingerprint` changes when its adapter or params do. */
export interface HandlerSpec {
  readonly name: string;
  readonly adapter: string;
  readonly params: unknown;
  readonly fingerprint: string;
}

export type PoolTask =
  | { readonly op: 'configure'; readonly specs: readonly HandlerSpec[] }
  | { readonly op: 'check'; readonly handler: string; readonly instances: readonly InstanceValue[] }
  | { readonly op: 'quota'; readonly handler: string; readonly instance: InstanceValue; readonly args: QuotaArgs }
  | { readonly op: 'report'; readonly handler: string; readonly instances: readonly InstanceValue[] }
  /** A Report batch as the dispatcher sends it: packed rows (report-rows.ts), cheaper to clone than instance objects. */
  | { readonly op: 'reportRows'; readonly handler: string; readonly batch: ReportRows }
  | { readonly op: 'metrics' };

/**
 * A task's answer. `missing`: the thread does not hold that handler (it was restarted after a crash):
 * the pool configures it again and retries once. `error`: the handler threw.
 */
export type PoolAnswer =
  | { readonly kind: 'configured'; readonly failures: readonly { readonly name: string; readonly error: string }[] }
  | { readonly kind: 'check'; readonly result: CheckResult }
  | { readonly kind: 'quota'; readonly result: QuotaResult }
  | { readonly kind: 'reported' }
  | { readonly kind: 'metrics'; readonly text: string }
  | { readonly kind: 'missing' }
  | { readonly kind: 'error'; readonly error: string };

/** workerData of every pool thread: plug-in adapter modules (file URLs) to import and register before the first task. */
export interface PoolWorkerData {
  readonly plugins: readonly string[];
  /** The control plane's log level (handlers log through pino, e.g. the stdio adapter). */
  readonly logLevel: string;
}
