// Report, per worker: finished requests' report attributes are queued and
// sent in batches (report_batch_max_entries, or report_batch_max_time after
// the first entry) through the agent, never on the request's path. The agent
// bounds what it holds and drops batches it cannot send (counted); here the
// queue is bounded by the batch size, so a worker never holds more than one
// batch per policy server.
import { policyTransport, type WireAttributes } from './policy-transport.js';

export class ReportBatcher {
  private entries: WireAttributes[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly target: string,
    private maxEntries: number,
    private maxTimeMs: number,
  ) {}

  /** A newer config's limits apply from the next batch. */
  configure(maxEntries: number, maxTimeMs: number): void {
    this.maxEntries = maxEntries;
    this.maxTimeMs = maxTimeMs;
  }

  add(entry: WireAttributes): void {
    this.entries.push(entry);
    if (this.entries.length >= this.maxEntries) this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(flushBatcher, this.maxTimeMs, this);
      this.timer.unref();
    }
  }

  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.entries.length === 0) return;
    const batch = this.entries;
    this.entries = [];
    policyTransport().report(this.target, batch);
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
