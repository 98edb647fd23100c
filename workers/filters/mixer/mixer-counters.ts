// The policy filter's counters, one proxy-wide table in a SharedArrayBuffer
// (made by the agent, given to every worker in WorkerInit): workers bump them
// with Atomics, the agent reads them for /stats/prometheus with no query to
// the workers. Int32 slots: they wrap after 2^31 events, as a Prometheus
// counter reset would read.
import { renderCounterFamilies, type CounterFamily } from '../../counter-families.js';

export const MIXER_COUNTER = {
  CHECK_CACHE_HITS: 0,
  CHECK_CACHE_MISSES: 1,
  CHECK_CALLS: 2,
  CHECK_DENIED: 3,
  FAIL_OPEN: 4,
  FAIL_CLOSED: 5,
  QUOTA_CALLS: 6,
  QUOTA_EXHAUSTED: 7,
  REPORT_ENTRIES: 8,
  CACHE_WRITE_ERRORS: 9,
  // agent side (the RPC path)
  RPC_CHECKS: 10,
  RPC_CHECK_ERRORS: 11,
  RPC_CHECKS_JOINED: 12,
  RPC_RETRIES: 13,
  REPORT_BATCHES_SENT: 14,
  REPORT_BATCHES_DROPPED: 15,
  RPC_LATENCY_COUNT: 16,
  /** Sum of Check RPC latencies in microseconds. */
  RPC_LATENCY_SUM_US: 17,
  /** Finished requests whose report attributes were larger than one entry may be (not sent). */
  REPORT_ENTRIES_DROPPED: 18,
  /** RPC latency histogram buckets (le) start here, one slot per bucket of RPC_LATENCY_BUCKETS_MS. */
  RPC_LATENCY_BUCKETS: 19,
} as const;

export const RPC_LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000] as const;
export const MIXER_COUNTER_SLOTS = MIXER_COUNTER.RPC_LATENCY_BUCKETS + RPC_LATENCY_BUCKETS_MS.length;

/** takes nothing; returns a new zeroed table for one proxy. */
export function createMixerCounters(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(MIXER_COUNTER_SLOTS * 4));
}

/** Counters of a data plane built without the agent (unit tests): this thread's own. */
export const LOCAL_MIXER_COUNTERS: { table: Int32Array } = { table: new Int32Array(MIXER_COUNTER_SLOTS) };

const FAMILIES: readonly CounterFamily[] = [
  ['isthmus_mixer_check_cache_hits_total', MIXER_COUNTER.CHECK_CACHE_HITS, 'Requests whose Check was answered from the check cache.'],
  ['isthmus_mixer_check_cache_misses_total', MIXER_COUNTER.CHECK_CACHE_MISSES, 'Requests the check cache could not answer.'],
  ['isthmus_mixer_check_calls_total', MIXER_COUNTER.CHECK_CALLS, 'Checks a worker asked the agent for (cache misses and quota calls).'],
  ['isthmus_mixer_check_denied_total', MIXER_COUNTER.CHECK_DENIED, 'Requests denied by policy (403/429), from the cache or an RPC.'],
  ['isthmus_mixer_fail_open_total', MIXER_COUNTER.FAIL_OPEN, 'Requests let through because the policy server did not answer (FAIL_OPEN).'],
  ['isthmus_mixer_fail_closed_total', MIXER_COUNTER.FAIL_CLOSED, 'Requests refused with 503 because the policy server did not answer (FAIL_CLOSE).'],
  ['isthmus_mixer_quota_calls_total', MIXER_COUNTER.QUOTA_CALLS, 'Checks that carried quota (never answered from the cache).'],
  ['isthmus_mixer_quota_exhausted_total', MIXER_COUNTER.QUOTA_EXHAUSTED, 'Requests refused with 429 for lack of quota.'],
  ['isthmus_mixer_report_entries_total', MIXER_COUNTER.REPORT_ENTRIES, 'Requests queued for Report.'],
  ['isthmus_mixer_check_cache_write_errors_total', MIXER_COUNTER.CACHE_WRITE_ERRORS, 'Check results the shared cache could not store.'],
  ['isthmus_mixer_check_rpcs_total', MIXER_COUNTER.RPC_CHECKS, 'Check RPCs sent to the policy server.'],
  ['isthmus_mixer_check_rpc_errors_total', MIXER_COUNTER.RPC_CHECK_ERRORS, 'Check RPCs that failed or timed out (after retries).'],
  ['isthmus_mixer_check_rpcs_joined_total', MIXER_COUNTER.RPC_CHECKS_JOINED, 'Checks that joined an identical Check already in flight (no RPC of their own).'],
  ['isthmus_mixer_check_rpc_retries_total', MIXER_COUNTER.RPC_RETRIES, 'Check RPC attempts after a failure.'],
  ['isthmus_mixer_report_batches_sent_total', MIXER_COUNTER.REPORT_BATCHES_SENT, 'Report batches sent to the policy server.'],
  ['isthmus_mixer_report_batches_dropped_total', MIXER_COUNTER.REPORT_BATCHES_DROPPED, 'Report batches dropped (server away, slow or refusing; queue full).'],
  ['isthmus_mixer_report_entries_dropped_total', MIXER_COUNTER.REPORT_ENTRIES_DROPPED, 'Finished requests not reported: their report attributes passed the size one entry may take.'],
];

/** takes the table; returns its Prometheus text families. */
export function renderMixerCounters(t: Int32Array): string {
  let out = renderCounterFamilies(t, FAMILIES);
  const h = 'isthmus_mixer_check_rpc_duration_milliseconds';
  out += `# HELP ${h} Check RPC latency as the agent measured it.\n# TYPE ${h} histogram\n`;
  let cumulative = 0;
  RPC_LATENCY_BUCKETS_MS.forEach((le, i) => {
    cumulative += Atomics.load(t, MIXER_COUNTER.RPC_LATENCY_BUCKETS + i);
    out += `${h}_bucket{le="${le}"} ${cumulative}\n`;
  });
  const count = Atomics.load(t, MIXER_COUNTER.RPC_LATENCY_COUNT);
  out += `${h}_bucket{le="+Inf"} ${count}\n${h}_sum ${Atomics.load(t, MIXER_COUNTER.RPC_LATENCY_SUM_US) / 1000}\n${h}_count ${count}\n`;
  return out;
}

/** Records one Check RPC's latency. */
export function recordRpcLatency(t: Int32Array, ms: number): void {
  Atomics.add(t, MIXER_COUNTER.RPC_LATENCY_COUNT, 1);
  Atomics.add(t, MIXER_COUNTER.RPC_LATENCY_SUM_US, Math.round(ms * 1000));
  let i = 0;
  while (i < RPC_LATENCY_BUCKETS_MS.length && ms > RPC_LATENCY_BUCKETS_MS[i]!) i++;
  if (i < RPC_LATENCY_BUCKETS_MS.length) Atomics.add(t, MIXER_COUNTER.RPC_LATENCY_BUCKETS + i, 1);
}
