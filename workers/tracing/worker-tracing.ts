// One worker's tracing state: the counters (the proxy-wide shared table once
// the data plane has it), the names its spans carry, the scratch the request
// path parses trace headers into (one per worker: requests on a thread run
// one at a time), and its Zipkin reporters, one per collector, kept across
// config versions so spans queued under one version still go out.
import type { ZipkinProvider } from '../../src/config/tracing-config.js';
import type { UpstreamCluster } from '../upstream-cluster.js';
import { Span } from './span.js';
import { TraceIds } from './trace-ids.js';
import { IncomingTraceHeaders, SAMPLED_UNSET, type TraceContext } from './trace-headers.js';
import { localTracingCounters } from './tracing-counters.js';
import { ZipkinReporter, type ReporterHost } from './zipkin-reporter.js';

/** Spans kept for reuse: as many as requests a worker typically has in flight. */
const MAX_FREE_SPANS = 256;
/** Request contexts kept for reuse (the same bound: one per request in flight). */
const MAX_FREE_TRACES = 256;

export class WorkerTracing implements ReporterHost {
  counters: Int32Array = localTracingCounters();
  /** Zipkin's localEndpoint.serviceName: the workload's service (Envoy's node cluster, as Istio sets it). */
  serviceName = 'unknown';
  /** The node_id tag. */
  nodeId = 'unknown';
  readonly incoming = new IncomingTraceHeaders();
  readonly context: TraceContext = { traceId: '', spanId: '', parentId: '', sampled: SAMPLED_UNSET };
  /** Per config object (a new version makes new objects): the reporter of its collector. */
  private readonly byProvider = new WeakMap<ZipkinProvider, ZipkinReporter>();
  private readonly byKey = new Map<string, ZipkinReporter>();
  private lastProvider: ZipkinProvider | null = null;
  private lastReporter: ZipkinReporter | null = null;
  /**
   * Spans of ended requests, reused by the next sampled ones (a new Span and its boxed numbers per sampled request
   * were a share of the young garbage at 100% sampling). Bounded; a span whose request never ended is just dropped.
   */
  private readonly freeSpans: Span[] = [];
  /**
   * Contexts of recorded requests, reused by the next traced ones: with tracing on, every request has one (sampled or
   * not), and its ids and bits had been fields of the request's rare-field side object, made for every traced
   * request (~380 bytes a request at 1% sampling, bench/h1-gc-count.ts). Bounded; one never handed back is dropped.
   */
  private readonly freeTraces: TraceIds[] = [];

  constructor(private readonly currentClusters: () => ReadonlyMap<string, UpstreamCluster>) {}

  clusters(): ReadonlyMap<string, UpstreamCluster> {
    return this.currentClusters();
  }

  /** The reporter for this collector (the same one for equal settings across versions). */
  reporterFor(provider: ZipkinProvider): ZipkinReporter {
    // Every sampled request asks, nearly always for the provider the last one had: no WeakMap lookup then.
    if (provider === this.lastProvider) return this.lastReporter!;
    let reporter = this.byProvider.get(provider);
    if (reporter !== undefined) {
      this.lastProvider = provider;
      this.lastReporter = reporter;
      return reporter;
    }
    const key = provider.collectorCluster + '\n' + provider.collectorEndpoint + '\n' + provider.collectorHostname;
    reporter = this.byKey.get(key);
    if (reporter === undefined) this.byKey.set(key, (reporter = new ZipkinReporter(this, provider)));
    this.byProvider.set(provider, reporter);
    return reporter;
  }

  /** takes nothing; returns a span to fill (every field is set by startRequestTrace and finishRequestTrace). */
  takeSpan(): Span {
    return this.freeSpans.pop() ?? new Span();
  }

  /** takes a span whose JSON is written; keeps it for reuse, without the request values it held. */
  releaseSpan(span: Span): void {
    if (this.freeSpans.length >= MAX_FREE_SPANS) return;
    span.userAgent = span.path = span.query = '';
    span.custom = null;
    this.freeSpans.push(span);
  }

  /** takes nothing; returns a request context to fill (startRequestTrace sets every field). */
  takeTrace(): TraceIds {
    return this.freeTraces.pop() ?? new TraceIds();
  }

  /** takes the context of a recorded request (no longer referenced by it); keeps it for reuse. */
  releaseTrace(trace: TraceIds): void {
    trace.span = null;
    if (this.freeTraces.length < MAX_FREE_TRACES) this.freeTraces.push(trace);
  }

  /** Sends what is queued now (tests, shutdown). */
  flushAll(): void {
    for (const r of this.byKey.values()) r.flush(false);
  }

  close(): void {
    for (const r of this.byKey.values()) r.close();
    this.byKey.clear();
    this.lastProvider = this.lastReporter = null;
  }
}
