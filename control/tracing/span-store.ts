// The control plane's in-memory trace store behind its Zipkin API: recent
// traces, bounded four ways (traces, spans per trace, spans in all, and the
// size of what is held), the oldest trace evicted first; counters for what
// was accepted and dropped.
// No disk: it shows what the mesh did a moment ago, not a history (point the
// proxies at a real Zipkin or Jaeger for that).
import type { ZipkinSpan } from './zipkin-span.js';

export interface SpanStoreLimits {
  readonly maxTraces: number;
  readonly maxSpansPerTrace: number;
  readonly maxSpans: number;
  /**
   * The size of all spans held, as spanSize() estimates it. The counts alone allow 20,000 spans of up to
   * ~30 KB each (32 tags of 640 characters, 16 annotations): 600 MB that any local process could fill in seconds.
   * 64 MiB holds 20,000 of Envoy's spans (~1.5 KB each) before the span count is reached.
   */
  readonly maxBytes?: number;
}

export const DEFAULT_SPAN_STORE_LIMITS: SpanStoreLimits = Object.freeze({ maxTraces: 500, maxSpansPerTrace: 256, maxSpans: 20_000, maxBytes: 64 * 1024 * 1024 });

const SPAN_COST = 200;
const FIELD_COST = 48;

function endpointSize(e: ZipkinSpan['localEndpoint']): number {
  return e === undefined ? 0 : FIELD_COST + (e.serviceName?.length ?? 0) + (e.ipv4?.length ?? 0) + (e.ipv6?.length ?? 0);
}

/** A span's memory, estimated: its strings' characters plus a fixed cost per span, tag and annotation. */
export function spanSize(s: ZipkinSpan): number {
  let n = SPAN_COST + s.traceId.length + s.id.length + (s.parentId?.length ?? 0) + (s.name?.length ?? 0);
  n += endpointSize(s.localEndpoint) + endpointSize(s.remoteEndpoint);
  if (s.tags !== undefined) for (const key in s.tags) n += FIELD_COST + key.length + s.tags[key]!.length;
  if (s.annotations !== undefined) for (const a of s.annotations) n += FIELD_COST + a.value.length;
  return n;
}

/** Why spans were not kept (the label of the dropped counter). */
export type DropReason = 'invalid' | 'trace_full' | 'request_too_many' | 'body_rejected';

export interface SpanCounters {
  accepted: number;
  readonly dropped: Record<DropReason, number>;
  evictedTraces: number;
}

interface TraceEntry {
  readonly spans: ZipkinSpan[];
  /** spanSize() of its spans, summed. */
  bytes: number;
  /** The earliest span timestamp (µs), for newest-first listing. */
  start: number;
}

/** A trace's summary for the list the dashboard shows. */
export interface TraceSummary {
  readonly traceId: string;
  readonly start: number;
  readonly durationUs: number;
  readonly spans: number;
  readonly services: readonly string[];
  readonly root: string;
  readonly error: boolean;
}

function spanError(s: ZipkinSpan): boolean {
  const tags = s.tags;
  if (tags === undefined) return false;
  return tags.error !== undefined || /^5\d\d$/.test(tags['http.status_code'] ?? '');
}

export class SpanStore {
  // Insertion order is arrival order: the first key is the oldest trace.
  private readonly traces = new Map<string, TraceEntry>();
  private spanCount = 0;
  private byteCount = 0;
  private readonly maxBytes: number;
  readonly counters: SpanCounters = { accepted: 0, dropped: { invalid: 0, trace_full: 0, request_too_many: 0, body_rejected: 0 }, evictedTraces: 0 };

  constructor(readonly limits: SpanStoreLimits = DEFAULT_SPAN_STORE_LIMITS) {
    this.maxBytes = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.traces.size;
  }

  /** spanSize() of every span held, summed. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Takes spans already read and bounded; keeps what fits, counts the rest. */
  add(spans: readonly ZipkinSpan[]): void {
    for (const span of spans) {
      let entry = this.traces.get(span.traceId);
      if (entry === undefined) {
        this.evictFor(1);
        entry = { spans: [], bytes: 0, start: span.timestamp ?? Date.now() * 1000 };
        this.traces.set(span.traceId, entry);
      }
      if (entry.spans.length >= this.limits.maxSpansPerTrace) {
        this.counters.dropped.trace_full++;
        continue;
      }
      if (this.spanCount >= this.limits.maxSpans) this.evictOldestExcept(span.traceId);
      const size = spanSize(span);
      while (this.byteCount + size > this.maxBytes) if (!this.evictOldestExcept(span.traceId)) break;
      if (this.byteCount + size > this.maxBytes) {
        this.counters.dropped.trace_full++; // only this trace is left and it fills the budget
        if (entry.spans.length === 0) this.traces.delete(span.traceId); // never an empty trace (summaries read spans[0])
        continue;
      }
      entry.spans.push(span);
      entry.bytes += size;
      this.byteCount += size;
      if (span.timestamp !== undefined && span.timestamp < entry.start) entry.start = span.timestamp;
      this.spanCount++;
      this.counters.accepted++;
    }
  }

  private evictFor(newTraces: number): void {
    while (this.traces.size + newTraces > this.limits.maxTraces) {
      const oldest = this.traces.keys().next().value;
      if (oldest === undefined) return;
      this.remove(oldest);
    }
  }

  /** False when there was no other trace to evict. */
  private evictOldestExcept(keep: string): boolean {
    for (const id of this.traces.keys()) {
      if (id === keep) continue;
      this.remove(id);
      return true;
    }
    return false;
  }

  private remove(traceId: string): void {
    const entry = this.traces.get(traceId);
    if (entry === undefined) return;
    this.spanCount -= entry.spans.length;
    this.byteCount -= entry.bytes;
    this.traces.delete(traceId);
    this.counters.evictedTraces++;
  }

  /** The spans of one trace (ids are stored lower-case, 16 or 32 characters), or undefined. */
  trace(traceId: string): readonly ZipkinSpan[] | undefined {
    const id = traceId.toLowerCase();
    return (this.traces.get(id) ?? this.traces.get(id.padStart(16, '0')) ?? this.traces.get(id.padStart(32, '0')))?.spans;
  }

  /**
   * Up to `limit` traces, newest first, optionally only those with a span of `serviceName`, and no more than
   * `maxBytes` of spans (spanSize(); the first trace always, however large).
   */
  recent(limit: number, serviceName?: string, maxBytes = Number.POSITIVE_INFINITY): ZipkinSpan[][] {
    const entries = [...this.traces.values()];
    entries.sort((a, b) => b.start - a.start);
    const out: ZipkinSpan[][] = [];
    let bytes = 0;
    for (const e of entries) {
      if (out.length >= limit) break;
      if (serviceName !== undefined && !e.spans.some((s) => s.localEndpoint?.serviceName === serviceName)) continue;
      if (out.length > 0 && bytes + e.bytes > maxBytes) break;
      bytes += e.bytes;
      out.push(e.spans);
    }
    return out;
  }

  /** Summaries of up to `limit` traces, newest first. */
  summaries(limit: number): TraceSummary[] {
    return this.recent(limit).map((spans) => {
      let start = Number.POSITIVE_INFINITY;
      let end = 0;
      const services = new Set<string>();
      for (const s of spans) {
        if (s.timestamp !== undefined) {
          start = Math.min(start, s.timestamp);
          end = Math.max(end, s.timestamp + (s.duration ?? 0));
        }
        if (s.localEndpoint?.serviceName !== undefined) services.add(s.localEndpoint.serviceName);
      }
      const root = spans.find((s) => s.parentId === undefined) ?? spans[0]!;
      return {
        traceId: spans[0]!.traceId,
        start: Number.isFinite(start) ? start : 0,
        durationUs: Number.isFinite(start) ? end - start : 0,
        spans: spans.length,
        services: [...services].sort(),
        root: `${root.localEndpoint?.serviceName ?? 'unknown'}: ${root.name ?? ''}`,
        error: spans.some(spanError),
      };
    });
  }

  /** Prometheus text of the counters (appended to the control plane's /metrics). */
  metricsText(): string {
    const c = this.counters;
    let out = '# HELP isthmus_control_spans_accepted_total Zipkin spans the control plane stored (POST /api/v2/spans).\n';
    out += '# TYPE isthmus_control_spans_accepted_total counter\n';
    out += `isthmus_control_spans_accepted_total ${c.accepted}\n`;
    out += '# HELP isthmus_control_spans_dropped_total Zipkin spans not stored, by reason.\n# TYPE isthmus_control_spans_dropped_total counter\n';
    for (const [reason, n] of Object.entries(c.dropped)) out += `isthmus_control_spans_dropped_total{reason="${reason}"} ${n}\n`;
    out += '# HELP isthmus_control_traces_stored Traces held in the control plane\'s trace store.\n# TYPE isthmus_control_traces_stored gauge\n';
    out += `isthmus_control_traces_stored ${this.traces.size}\n`;
    out += '# HELP isthmus_control_trace_store_bytes Estimated size of the spans held in the trace store (bounded).\n# TYPE isthmus_control_trace_store_bytes gauge\n';
    out += `isthmus_control_trace_store_bytes ${this.byteCount}\n`;
    return out;
  }
}
