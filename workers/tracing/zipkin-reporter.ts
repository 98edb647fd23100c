// Sends one worker's sampled spans to one Zipkin collector (a cluster, an
// endpoint path, a Host) as Zipkin v2 JSON: each span is written as JSON into
// a batch (SpanBatch) as its request ends; batches wait in a bounded queue and
// go out when full or after FLUSH_INTERVAL_MS. At most one report is in
// flight; a full queue drops new spans and counts them, so a collector that
// is down or slow costs a bounded amount of memory and never touches a
// request. The report is a small HTTP/1.1
// POST on its own connection (connection: close), to an endpoint of the
// collector cluster of the worker's current config.
import { connect, type Socket } from 'node:net';
import type { ZipkinProvider } from '../../src/config/tracing-config.js';
import type { UpstreamCluster } from '../upstream-cluster.js';
import type { Span } from './span.js';
import { SpanBatch } from './span-batch.js';
import { TRACE_COUNTER } from './tracing-counters.js';

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
/** The part of the collector's answer that decides a report: `HTTP/1.x NNN`. */
const STATUS_PREFIX_BYTES = 12;

/** What a reporter needs from its worker. */
export interface ReporterHost {
  readonly counters: Int32Array;
  readonly serviceName: string;
  readonly nodeId: string;
  /** The worker's current clusters (the config a report goes out under). */
  clusters(): ReadonlyMap<string, UpstreamCluster>;
}

export class ZipkinReporter {
  /** Batches waiting, oldest first; the last one is the one spans are appended to. */
  private batches: SpanBatch[] = [];
  /** Span objects in batches, and their bytes. */
  private queuedEntries = 0;
  private queuedBytes = 0;
  /** localEndpoint and node_id as JSON, and the names they were made from. */
  private localJson = '';
  private localFor = '';
  private nodeIdJson = '';
  private nodeIdFor = '';
  private inFlight: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Round-robin over the collector cluster's endpoints. */
  private next = 0;

  constructor(
    private readonly host: ReporterHost,
    readonly provider: ZipkinProvider,
  ) {}

  /** Spans waiting (for tests and stats). */
  get queued(): number {
    return this.queuedEntries;
  }

  add(span: Span): void {
    if (this.queuedEntries >= MAX_QUEUED_SPANS) {
      Atomics.add(this.host.counters, TRACE_COUNTER.SPANS_DROPPED, span.count);
      return;
    }
    const host = this.host;
    if (host.serviceName !== this.localFor) {
      this.localFor = host.serviceName;
      this.localJson = '{"serviceName":' + JSON.stringify(host.serviceName) + '}';
    }
    if (host.nodeId !== this.nodeIdFor) {
      this.nodeIdFor = host.nodeId;
      this.nodeIdJson = JSON.stringify(host.nodeId);
    }
    const json = span.toJson(this.localJson, this.nodeIdJson);
    if (this.queuedBytes + json.length > MAX_QUEUED_BYTES) {
      Atomics.add(host.counters, TRACE_COUNTER.SPANS_DROPPED, span.count);
      return;
    }
    let open = this.batches.length === 0 ? undefined : this.batches[this.batches.length - 1]!;
    if (open === undefined || isFull(open)) this.batches.push((open = new SpanBatch()));
    const before = open.bytes;
    open.append(json, span.count);
    this.queuedEntries++;
    this.queuedBytes += open.bytes - before;
    if (isFull(this.batches[0]!)) {
      if (this.inFlight === null) this.flush(false);
    } else if (this.timer === null) {
      this.timer = setTimeout(onFlushTimer, FLUSH_INTERVAL_MS, this);
      this.timer.unref();
    }
  }

  /** Sends up to one batch now (no-op while a report is in flight: its end sends the next). */
  flush(byTimer: boolean): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.inFlight !== null || this.batches.length === 0) return;
    const batch = this.batches.shift()!;
    this.queuedEntries -= batch.entries;
    this.queuedBytes -= batch.bytes;
    const counters = this.host.counters;
    const endpoints = this.host.clusters().get(this.provider.collectorCluster)?.endpoints;
    if (endpoints === undefined || endpoints.length === 0) {
      Atomics.add(counters, TRACE_COUNTER.REPORTS_SKIPPED_NO_CLUSTER, 1);
      this.rearm();
      return;
    }
    const endpoint = endpoints[this.next++ % endpoints.length]!;
    if (byTimer) Atomics.add(counters, TRACE_COUNTER.TIMER_FLUSHED, 1);
    const spans = batch.spans;
    const payload = batch.payload();
    const hostHeader = this.provider.collectorHostname !== '' ? this.provider.collectorHostname : this.provider.collectorCluster;
    const head =
      'POST ' + this.provider.collectorEndpoint + ' HTTP/1.1\r\nhost: ' + hostHeader +
      '\r\ncontent-type: application/json\r\ncontent-length: ' + payload.length + '\r\nconnection: close\r\n\r\n';
    const socket = connect({ host: endpoint.address, port: endpoint.port });
    this.inFlight = socket;
    const report = new ReportExchange(this, socket, spans);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => report.onData(chunk));
    socket.on('error', () => report.fail());
    socket.on('close', () => report.end());
    socket.write(head, 'latin1');
    socket.end(payload);
  }

  /** A report ended (sent, refused or failed): the next batch may go. */
  reportDone(socket: Socket): void {
    if (this.inFlight !== socket) return;
    this.inFlight = null;
    if (this.batches.length > 0 && isFull(this.batches[0]!)) this.flush(false);
    else this.rearm();
  }

  private rearm(): void {
    if (this.queuedEntries > 0 && this.timer === null) {
      this.timer = setTimeout(onFlushTimer, FLUSH_INTERVAL_MS, this);
      this.timer.unref();
    }
  }

  /** Counts one finished report. */
  count(slot: number, spans: number): void {
    Atomics.add(this.host.counters, slot, 1);
    if (slot === TRACE_COUNTER.REPORTS_SENT) Atomics.add(this.host.counters, TRACE_COUNTER.SPANS_SENT, spans);
  }

  /** Stops the timer and any report in flight (worker shutdown or a config without this collector). */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.inFlight?.destroy();
    this.batches = [];
    this.queuedEntries = 0;
    this.queuedBytes = 0;
  }
}

/**
 * One report's exchange: the first bytes of the collector's status line decide sent or dropped, and the exchange
 * ends there (the rest of the answer is not read); no answer, or none within REPORT_TIMEOUT_MS from the start
 * (a deadline, not an idle timeout: a collector dribbling bytes cannot hold the one report slot), is failed.
 */
class ReportExchange {
  private answer = '';
  private done = false;
  private readonly deadline: NodeJS.Timeout;

  constructor(
    private readonly reporter: ZipkinReporter,
    private readonly socket: Socket,
    private readonly spans: number,
  ) {
    this.deadline = setTimeout(onReportDeadline, REPORT_TIMEOUT_MS, this);
    this.deadline.unref();
  }

  onData(chunk: Buffer): void {
    if (this.done) return;
    this.answer += chunk.latin1Slice(0, Math.min(chunk.length, STATUS_PREFIX_BYTES - this.answer.length));
    if (this.answer.length >= STATUS_PREFIX_BYTES) this.end();
  }

  fail(): void {
    this.finish(TRACE_COUNTER.REPORTS_FAILED);
  }

  end(): void {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(this.answer);
    if (m === null) this.finish(TRACE_COUNTER.REPORTS_FAILED);
    else this.finish(m[1]!.startsWith('2') ? TRACE_COUNTER.REPORTS_SENT : TRACE_COUNTER.REPORTS_DROPPED);
  }

  private finish(slot: number): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.deadline);
    this.socket.destroy();
    this.reporter.count(slot, this.spans);
    this.reporter.reportDone(this.socket);
  }
}

function onReportDeadline(report: ReportExchange): void {
  report.fail();
}

/** A batch that takes no more spans: it goes out without waiting for the timer. */
function isFull(batch: SpanBatch): boolean {
  return batch.entries >= MAX_BATCH_SPANS || batch.bytes >= MAX_BATCH_BYTES;
}

function onFlushTimer(reporter: ZipkinReporter): void {
  reporter.flush(true);
}
