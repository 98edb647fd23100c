// Tracing's counters, one proxy-wide table in a SharedArrayBuffer (made by
// the agent, given to every worker in WorkerInit): a row per worker, which
// only that worker's thread writes, so the request path bumps its counter
// with a plain add (an Atomics.add is a builtin call, ~115 instructions, on
// every traced request: callgrind, bench/h1-callgrind.ts); the agent sums
// the rows for /stats/prometheus. Names are Envoy's where Envoy has the
// counter (tracing.zipkin.* and the HCM's tracing.* decisions), isthmus_*
// otherwise.
import type { CounterFamily } from '../counter-families.js';

export const TRACE_COUNTER = {
  /** Requests sampled by random_sampling (Envoy: http.<prefix>.tracing.random_sampling). */
  RANDOM_SAMPLING: 0,
  /** Requests sampled because of x-client-trace-id (Envoy: tracing.client_enabled). */
  CLIENT_ENABLED: 1,
  /** Requests whose incoming context said sampled or not (x-b3-sampled, b3, traceparent flags): the decision honoured. */
  INCOMING_DECISION: 2,
  /** Requests traced but not sampled (context propagated, no span reported). */
  NOT_SAMPLED: 3,
  SPANS_SENT: 4,
  /** Spans dropped because the report queue was full (collector away or slow). */
  SPANS_DROPPED: 5,
  REPORTS_SENT: 6,
  /** Reports the collector answered with a non-2xx status. */
  REPORTS_DROPPED: 7,
  /** Reports that could not be sent (connection refused, timeout, reset). */
  REPORTS_FAILED: 8,
  /** Reports the flush timer sent (fewer spans than a full batch). */
  TIMER_FLUSHED: 9,
  /** Reports not sent because the collector cluster had no endpoint. */
  REPORTS_SKIPPED_NO_CLUSTER: 10,
} as const;
const SLOTS = 11;

/** takes the proxy's worker count; returns a new zeroed table for it (a row per worker id). */
export function createTracingCounters(workers: number): Int32Array {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`tracing counters: ${workers} workers`);
  return new Int32Array(new SharedArrayBuffer(SLOTS * 4 * workers));
}

/**
 * takes the proxy's table and a worker id; returns that worker's row (a restarted worker continues its
 * predecessor's counts). A worker id past the table's rows is a wiring error: thrown, never a shared row (two
 * writers' plain adds would lose counts).
 */
export function workerTracingCounters(table: SharedArrayBuffer, workerId: number): Int32Array {
  const rows = table.byteLength / (SLOTS * 4);
  if (!Number.isInteger(workerId) || workerId < 0 || workerId >= rows) throw new Error(`tracing counters: worker ${workerId} of ${rows}`);
  return new Int32Array(table, workerId * SLOTS * 4, SLOTS);
}

/** A data plane built without the agent (unit tests): this thread's own table. */
export function localTracingCounters(): Int32Array {
  return new Int32Array(SLOTS);
}

const FAMILIES: readonly CounterFamily[] = [
  ['envoy_tracing_random_sampling', TRACE_COUNTER.RANDOM_SAMPLING, 'Requests sampled by random_sampling.'],
  ['envoy_tracing_client_enabled', TRACE_COUNTER.CLIENT_ENABLED, 'Requests sampled because they carried x-client-trace-id.'],
  ['isthmus_tracing_incoming_decision_total', TRACE_COUNTER.INCOMING_DECISION, 'Requests whose incoming trace context decided sampling (x-b3-sampled, b3, traceparent flags).'],
  ['isthmus_tracing_not_sampled_total', TRACE_COUNTER.NOT_SAMPLED, 'Traced requests not sampled: context propagated, no span reported.'],
  ['envoy_tracing_zipkin_spans_sent', TRACE_COUNTER.SPANS_SENT, 'Spans sent to the Zipkin collector.'],
  ['envoy_tracing_zipkin_spans_dropped', TRACE_COUNTER.SPANS_DROPPED, 'Spans dropped because the report queue was full.'],
  ['envoy_tracing_zipkin_reports_sent', TRACE_COUNTER.REPORTS_SENT, 'Reports the collector accepted (2xx).'],
  ['envoy_tracing_zipkin_reports_dropped', TRACE_COUNTER.REPORTS_DROPPED, 'Reports the collector refused (non-2xx).'],
  ['envoy_tracing_zipkin_reports_failed', TRACE_COUNTER.REPORTS_FAILED, 'Reports that could not be delivered (connection failed or timed out).'],
  ['envoy_tracing_zipkin_timer_flushed', TRACE_COUNTER.TIMER_FLUSHED, 'Reports sent by the flush timer.'],
  ['envoy_tracing_zipkin_reports_skipped_no_cluster', TRACE_COUNTER.REPORTS_SKIPPED_NO_CLUSTER, 'Reports not sent because the collector cluster has no endpoint.'],
];

/**
 * takes the table (one row or several); returns its Prometheus text families, each the sum over the rows. A row's
 * slot is read as unsigned (a worker's plain adds wrap it past 2^31 - 1 to negative values, which is 2^31 and on
 * modulo 2^32) and the rows are summed as doubles: the proxy's total goes past 2^31 without turning negative,
 * which Prometheus would take for a counter reset.
 */
export function renderTracingCounters(t: Int32Array): string {
  let out = '';
  for (const [name, slot, help] of FAMILIES) {
    let sum = 0;
    for (let row = 0; row + SLOTS <= t.length; row += SLOTS) sum += Atomics.load(t, row + slot) >>> 0;
    out += `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${sum}\n`;
  }
  return out;
}
