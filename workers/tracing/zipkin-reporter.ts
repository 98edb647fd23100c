// Sends one worker's sampled spans to one Zipkin collector (a cluster, an
// endpoint path, a Host) as Zipkin v2 JSON: ended spans wait (at most
// PENDING_SPANS of them) and are written as JSON into a batch (SpanBatch)
// together, then go back to the worker's span pool; batches wait in a bounded
// queue and go out when full or after FLUSH_INTERVAL_MS. At most one report is in
// flight; a full queue drops new spans and counts them, so a collector that
// is down or slow costs a bounded amount of memory and never touches a
// request. The report is an HTTP/1.1 POST on one kept connection to an
// endpoint of the collector cluster of the worker's current config
// (collector-connection.ts); sent batches' buffers are reused.
import type { ZipkinProvider } from '../../src/config/tracing-config.js';
import type { UpstreamCluster } from '../upstream-cluster.js';
import type { Span } from './span.js';
import { CollectorConnection, type CollectorConnectionOwner } from './collector-connection.js';
import { SpanBatch } from './span-batch.js';
import { TRACE_COUNTER } from './tracing-counters.js';

/**
 * Ended spans kept as objects until this many wait (or a batch goes out), then written as JSON in one run. At 1%
 * sampling, a span written as its request ended ran the JSON writer as cold code (interpreted, its data out of the
 * caches: ~20 µs per span against ~1 µs when warm, `bench tracing`); written in runs, the writer runs warm. Small,
 * so the request values the waiting spans hold (User-Agent, path) stay few.
 */
export const PENDING_SPANS = 32;
/** ...and while the request values they hold (User-Agent, path, query, x-request-id, custom tags) stay under this many UTF-16 units. */
export const PENDING_UNITS = 64 * 1024;
/** A batch: this many spans send a report at once. */
export const MAX_BATCH_SPANS = 256;
/** Spans waiting at most this long before the timer sends them. */
export const FLUSH_INTERVAL_MS = 1000;
/** Queue bound per reporter: spans past it are dropped (envoy_tracing_zipkin_spans_dropped). */
export const MAX_QUEUED_SPANS = 2048;
/**
 * The same bound in bytes of span JSON: a span carries request values (User-Agent, custom_tags headers) as long
 * as the head limit lets through, and a client can force sampling (x-b3-sampled: 1), so a count alone let the
 * queue reach MAX_QUEUED_SPANS times the head limit.
 */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** A batch also closes at this many bytes (one report's body). */
export const MAX_BATCH_BYTES = 512 * 1024;
/** A report that has not been answered by then is abandoned (counted as failed). */
export const REPORT_TIMEOUT_MS = 5000;

/** What a reporter needs from its worker. */
export interface ReporterHost {
  readonly counters: Int32Array;
  readonly serviceName: string;
  readonly nodeId: string;
  /** The worker's current clusters (the config a report goes out under). */
  clusters(): ReadonlyMap<string, UpstreamCluster>;
  /** A span the reporter is done with (written as JSON, or dropped): the worker may reuse it. */
  releaseSpan(span: Span): void;
}

/** Spare batch buffers a reporter keeps. */
const MAX_SPARE_BUFFERS = 2;
/** A buffer a huge span grew past this is not kept. */
const MAX_SPARE_BUFFER_BYTES = 2 * 1024 * 1024;

export class ZipkinReporter implements CollectorConnectionOwner {
  /** Batches waiting, oldest first; the last one is the one spans are appended to. */
  private batches: SpanBatch[] = [];
  /** Ended spans not yet written into a batch (their objects are the reporter's until then). */
  private pending: Span[] = [];
  /** The request values' lengths the pending spans hold. */
  private pendingUnits = 0;
  /** Span objects waiting (pending, and in batches), and the bytes of the batches. */
  private queuedEntries = 0;
  private queuedBytes = 0;
  /** localEndpoint and node_id as JSON, and the names they were made from. */
  private localJson = Buffer.alloc(0);
  private localFor: string | null = null;
  private nodeIdJson = Buffer.alloc(0);
  private nodeIdFor: string | null = null;
  /** The kept connection to the collector (null until the first report, or after it closed). */
  private conn: CollectorConnection | null = null;
  /** The batch in flight, whether it is a resend, and its deadline. */
  private sending: SpanBatch | null = null;
  private retrying = false;
  private deadline: NodeJS.Timeout | null = null;
  /** Buffers of sent batches, reused by the next ones (no new ArrayBuffer per batch in steady state). */
  private spare: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Round-robin over the collector cluster's endpoints. */
  private next = 0;
  /** The report head up to the Content-Length value (the same for every report of this collector). */
  private readonly headStart: Buffer;

  constructor(
    private readonly host: ReporterHost,
    readonly provider: ZipkinProvider,
  ) {
    const hostHeader = provider.collectorHostname !== '' ? provider.collectorHostname : provider.collectorCluster;
    this.headStart = Buffer.from(
      'POST ' + provider.collectorEndpoint + ' HTTP/1.1\r\nhost: ' + hostHeader + '\r\ncontent-type: application/json\r\ncontent-length: ',
      'latin1',
    );
  }

  /** Spans waiting (for tests and stats). */
  get queued(): number {
    return this.queuedEntries;
  }

  /** Takes an ended span (the reporter's from now on: it goes back to the host's pool once written or dropped). */
  add(span: Span): void {
    if (this.queuedEntries >= MAX_QUEUED_SPANS) {
      Atomics.add(this.host.counters, TRACE_COUNTER.SPANS_DROPPED, span.count);
      this.host.releaseSpan(span);
      return;
    }
    this.queuedEntries++;
    this.pending.push(span);
    this.pendingUnits += heldUnits(span);
    if (this.pending.length >= PENDING_SPANS || this.pendingUnits > PENDING_UNITS) this.writePending();
    if (this.batches.length > 0 && isFull(this.batches[0]!)) {
      if (this.sending === null) this.flush(false);
    } else if (this.timer === null) {
      this.timer = setTimeout(onFlushTimer, FLUSH_INTERVAL_MS, this);
      this.timer.unref();
    }
  }

  /** Writes the pending spans' JSON into the open batch (new batches as they fill), dropping what the byte bound refuses. */
  private writePending(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    const host = this.host;
    if (host.serviceName !== this.localFor) {
      this.localFor = host.serviceName;
      this.localJson = Buffer.from('{"serviceName":' + JSON.stringify(host.serviceName) + '}');
    }
    if (host.nodeId !== this.nodeIdFor) {
      this.nodeIdFor = host.nodeId;
      this.nodeIdJson = Buffer.from(JSON.stringify(host.nodeId));
    }
    for (let i = 0; i < pending.length; i++) {
      const span = pending[i]!;
      let open = this.batches.length === 0 ? undefined : this.batches[this.batches.length - 1]!;
      if (open === undefined || isFull(open)) this.batches.push((open = new SpanBatch(this.spare.pop())));
      const before = open.bytes;
      open.appendSpan(span, this.localJson, this.nodeIdJson);
      if (this.queuedBytes + open.bytes - before > MAX_QUEUED_BYTES) {
        open.undoLast(before, span.count);
        if (open.entries === 0) this.recycle(this.batches.pop()!);
        this.queuedEntries--;
        Atomics.add(host.counters, TRACE_COUNTER.SPANS_DROPPED, span.count);
      } else {
        this.queuedBytes += open.bytes - before;
      }
      host.releaseSpan(span);
    }
    pending.length = 0;
    this.pendingUnits = 0;
  }

  /** Sends up to one batch now (no-op while a report is in flight: its end sends the next). */
  flush(byTimer: boolean): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.writePending();
    if (this.sending !== null || this.batches.length === 0) return;
    const batch = this.batches.shift()!;
    this.queuedEntries -= batch.entries;
    this.queuedBytes -= batch.bytes;
    if (byTimer) Atomics.add(this.host.counters, TRACE_COUNTER.TIMER_FLUSHED, 1);
    this.send(batch, false);
  }

  /** Takes a batch and whether it is a resend; sends it on the kept connection (or a new one). */
  private send(batch: SpanBatch, retry: boolean): void {
    const endpoints = this.host.clusters().get(this.provider.collectorCluster)?.endpoints;
    if (endpoints === undefined || endpoints.length === 0) {
      Atomics.add(this.host.counters, TRACE_COUNTER.REPORTS_SKIPPED_NO_CLUSTER, 1);
      this.recycle(batch);
      this.rearm();
      return;
    }
    let conn = this.conn;
    if (conn !== null && (!conn.usable || !hasEndpoint(endpoints, conn.endpointKey))) {
      conn.destroy();
      conn = this.conn = null;
    }
    if (conn === null) {
      const endpoint = endpoints[this.next++ % endpoints.length]!;
      conn = this.conn = new CollectorConnection(this, endpoint.address + ':' + endpoint.port, endpoint.address, endpoint.port);
    }
    this.sending = batch;
    this.retrying = retry;
    this.deadline = setTimeout(onReportDeadline, REPORT_TIMEOUT_MS, this);
    this.deadline.unref();
    const whole = batch.request(this.headStart);
    if (whole !== null) conn.send(whole);
    else conn.sendParts(this.headStart, batch.payload());
  }

  /** The report on conn ended (CollectorConnectionOwner): counted, and the next batch may go. */
  reportEnded(conn: CollectorConnection, status: number, answered: boolean): void {
    const batch = this.sending;
    if (batch === null || conn !== this.conn) return;
    this.sending = null;
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
    if (status === 0 && !answered && conn.reports > 1 && !this.retrying) {
      // A kept connection the collector closed as the report went out: sent again once, on a new connection.
      this.conn = null;
      this.send(batch, true);
      return;
    }
    const counters = this.host.counters;
    if (status === 0) Atomics.add(counters, TRACE_COUNTER.REPORTS_FAILED, 1);
    else if (status >= 200 && status < 300) {
      Atomics.add(counters, TRACE_COUNTER.REPORTS_SENT, 1);
      Atomics.add(counters, TRACE_COUNTER.SPANS_SENT, batch.spans);
    } else Atomics.add(counters, TRACE_COUNTER.REPORTS_DROPPED, 1);
    if (conn.written) this.recycle(batch);
    if (this.batches.length > 0 && isFull(this.batches[0]!)) this.flush(false);
    else this.rearm();
  }

  /**
   * The report in flight was not answered within REPORT_TIMEOUT_MS of being sent (a deadline, not an idle timeout:
   * a collector dribbling bytes cannot hold the one report slot): its connection ends, the report counts as failed.
   */
  timedOut(): void {
    this.deadline = null;
    this.retrying = true; // not sent again
    this.conn?.destroy();
  }

  /** The kept connection closed while idle (CollectorConnectionOwner). */
  connectionClosed(conn: CollectorConnection): void {
    if (this.conn === conn && this.sending === null) this.conn = null;
  }

  /** Keeps a sent batch's buffer for the next batch (bounded: two spare buffers at most). */
  private recycle(batch: SpanBatch): void {
    const buf = batch.release();
    if (this.spare.length < MAX_SPARE_BUFFERS && buf.length <= MAX_SPARE_BUFFER_BYTES) this.spare.push(buf);
  }

  private rearm(): void {
    if (this.queuedEntries > 0 && this.timer === null) {
      this.timer = setTimeout(onFlushTimer, FLUSH_INTERVAL_MS, this);
      this.timer.unref();
    }
  }

  /** Stops the timer and any report in flight (worker shutdown or a config without this collector). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.deadline !== null) clearTimeout(this.deadline);
    this.deadline = null;
    this.sending = null;
    this.conn?.destroy();
    this.conn = null;
    for (const span of this.pending) this.host.releaseSpan(span);
    this.pending = [];
    this.pendingUnits = 0;
    this.batches = [];
    this.spare = [];
    this.queuedEntries = 0;
    this.queuedBytes = 0;
  }
}

function onReportDeadline(reporter: ZipkinReporter): void {
  reporter.timedOut();
}

/** takes a span; returns the lengths of the request values it holds (the ones a client controls the size of). */
function heldUnits(span: Span): number {
  let units = span.userAgent.length + span.path.length + span.query.length + span.authority.length + span.requestId.length;
  const custom = span.custom;
  if (custom !== null) for (let i = 0; i < custom.length; i++) units += custom[i]!.length;
  return units;
}

function hasEndpoint(endpoints: readonly { address: string; port: number }[], key: string): boolean {
  for (const e of endpoints) if (e.address + ':' + e.port === key) return true;
  return false;
}

/** A batch that takes no more spans: it goes out without waiting for the timer. */
function isFull(batch: SpanBatch): boolean {
  return batch.entries >= MAX_BATCH_SPANS || batch.bytes >= MAX_BATCH_BYTES;
}

function onFlushTimer(reporter: ZipkinReporter): void {
  reporter.flush(true);
}
