// Report, per worker: each finished request's report attributes are encoded
// as protobuf at once (report-encoder.ts) into the batch's buffer, and the
// batch (the ReportRequest's bytes, gRPC-framed) is handed to the agent as
// one Buffer when it has report_batch_max_entries entries or
// MAX_REPORT_BATCH_BYTES, or report_batch_max_time after its first entry,
// never on the request's path. The agent bounds what it holds and drops
// batches it cannot send (counted); here the queue is the one batch being
// filled per policy server, and an entry over MAX_REPORT_ENTRY_BYTES is
// dropped and counted (REPORT_ENTRIES_DROPPED).
import { MIXER_COUNTER } from './mixer-counters.js';
import { policyTransport } from './policy-transport.js';
import { GRPC_PREFIX_BYTES, MAX_REPORT_BATCH_BYTES, MAX_REPORT_ENTRY_BYTES, WireWriter, appendReportEntry, type ReportPlan, type ValueSource } from './report-encoder.js';

/** Past this the batch is sent: the next entry, at its largest, still fits in MAX_REPORT_BATCH_BYTES. */
const FLUSH_AT_BYTES = GRPC_PREFIX_BYTES + MAX_REPORT_BATCH_BYTES - MAX_REPORT_ENTRY_BYTES;
/** Node's timers hold at most this (a longer report_batch_max_time would fire after 1 ms): longer waits this long. */
const MAX_TIMER_MS = 0x7fffffff;
/** A buffer grown past this by a burst of large entries is given back after its flush. */
const KEEP_BYTES = 64 * 1024;

export class ReportBatcher {
  private writer = new WireWriter();
  private entries = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: string,
    private maxEntries: number,
    private maxTimeMs: number,
  ) {
    this.writer.pos = GRPC_PREFIX_BYTES;
  }

  /** A newer config's limits apply from the next batch. */
  configure(maxEntries: number, maxTimeMs: number): void {
    this.maxEntries = maxEntries;
    this.maxTimeMs = maxTimeMs;
  }

  /** Encodes a finished request's report attributes into the batch; false (and counted) when the entry is too large. */
  add(plan: ReportPlan, source: ValueSource, counters: Int32Array): boolean {
    if (!appendReportEntry(this.writer, plan, source)) {
      Atomics.add(counters, MIXER_COUNTER.REPORT_ENTRIES_DROPPED, 1);
      return false;
    }
    this.entries++;
    if (this.entries >= this.maxEntries || this.writer.pos >= FLUSH_AT_BYTES) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(flushBatcher, Math.min(this.maxTimeMs, MAX_TIMER_MS), this);
      this.timer.unref();
    }
    return true;
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.entries === 0) return;
    const w = this.writer;
    // Its own ArrayBuffer (not the pool's): a worker transfers it to the agent, no copy there.
    const batch = Buffer.from(new ArrayBuffer(w.pos));
    w.buf.copy(batch, 0, 0, w.pos);
    batch[0] = 0;
    batch.writeUInt32BE(w.pos - GRPC_PREFIX_BYTES, 1);
    const entries = this.entries;
    this.entries = 0;
    if (w.buf.length > KEEP_BYTES) this.writer = new WireWriter();
    this.writer.pos = GRPC_PREFIX_BYTES;
    policyTransport().report(this.target, batch, entries);
  }
}

function flushBatcher(b: ReportBatcher): void {
  b.flush();
}

const batchers = new Map<string, ReportBatcher>();

/** This worker's batcher for a policy server (kept across config versions). */
export function reportBatcherFor(target: string, maxEntries: number, maxTimeMs: number): ReportBatcher {
  let b = batchers.get(target);
  if (b === undefined) batchers.set(target, (b = new ReportBatcher(target, maxEntries, maxTimeMs)));
  else b.configure(maxEntries, maxTimeMs);
  return b;
}

/** Sends whatever is queued (worker shutdown). */
export function flushAllReports(): void {
  for (const b of batchers.values()) b.flush();
}
