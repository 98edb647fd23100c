// A request's part in a trace (Envoy's HCM tracing with the Zipkin driver):
// at its start, decide sampling and make this hop's context from the incoming
// one (or a new trace), and keep the child context the upstream gets (written
// in both B3 and W3C form by upstream-trace-lines.ts); at its end, finish the
// span and queue it for report. A span object exists only for a sampled
// request; an unsampled one carries just the header lines (ids with sampled
// 0), so the next hops agree. Span objects are reused (WorkerTracing's pool):
// the reporter hands a span back once its JSON is written (zipkin-reporter.ts);
// so are the requests' contexts (TraceIds), handed back as the request is
// recorded (request-record.ts).
import type { TracingConfig } from '../../src/config/tracing-config.js';
import type { ActiveRequest } from '../active-request.js';
import { HEAD } from '../../src/native.js';
import { findHeader } from '../header-block.js';
import { responseFlagsText } from '../response-flags.js';
import { KIND_CLIENT, KIND_SERVER, type Span } from './span.js';
import { SAMPLED_UNSET, SAMPLED_YES } from './trace-headers.js';
import { hexWord, newSentId, newTraceId, setTraceIdFromHex, type TraceIds } from './trace-ids.js';
import { sampleAtPercent } from './sampling-rng.js';
import { TRACE_COUNTER } from './tracing-counters.js';
import { linesTemplateFor, TRACE_DEBUG, TRACE_INCOMING, TRACE_LINES, TRACE_SAMPLED } from './upstream-trace-lines.js';

/** The thread's time origin (a getter per read otherwise; it never changes). */
const TIME_ORIGIN = performance.timeOrigin;
/** What responseFlagsText says for a request with no flag. */
const NO_FLAGS_TEXT = responseFlagsText(0);

/** Sets req.trace, the upstream trace context (with its span when sampled), from the head in buf/out, under the chain's tracing config. */
export function startRequestTrace(req: ActiveRequest, buf: Buffer, out: Uint32Array, config: TracingConfig): void {
  const tracing = req.conn.worker.tracing;
  const counters = tracing.counters;
  const incoming = tracing.incoming;
  incoming.read(buf, out);
  const ctx = tracing.context;
  // No trace header name at all (the usual first hop): nothing to decode, no decision said, no debug flag.
  const present = incoming.present;
  const any = present && incoming.any;
  const continued = any && incoming.decode(ctx);
  // A decision may come alone (x-b3-sampled without ids): decode leaves it in ctx.sampled either way.
  const said = any ? ctx.sampled : SAMPLED_UNSET;
  let sampled: boolean;
  if (said !== SAMPLED_UNSET) {
    // The caller decided (x-b3-sampled, b3, traceparent flags): honoured either way, as Envoy's Zipkin tracer does.
    sampled = said === SAMPLED_YES;
    counters[TRACE_COUNTER.INCOMING_DECISION]!++;
  } else {
    if (incoming.clientTraceId && sampleAtPercent(config.clientSampling)) {
      sampled = true;
      counters[TRACE_COUNTER.CLIENT_ENABLED]!++;
    } else {
      sampled = sampleAtPercent(config.randomSampling);
      if (sampled) counters[TRACE_COUNTER.RANDOM_SAMPLING]!++;
    }
    if (sampled && config.overallSampling < 100 && !sampleAtPercent(config.overallSampling)) sampled = false;
  }
  // This worker's row of the table (tracing-counters.ts): only this thread writes it.
  if (!sampled) counters[TRACE_COUNTER.NOT_SAMPLED]!++;
  const inbound = config.inbound;
  // ids.sent* is this span's id until the upstream's parent is known (below). A reused object: every field is set.
  const ids = tracing.takeTrace();
  ids.hasParent = false;
  ids.span = null;
  let shared = false;
  if (continued) {
    // ctx's ids are checked hex of their length (trace-headers.ts), read here as words.
    setTraceIdFromHex(ids, ctx.traceId);
    if (inbound && config.zipkin.sharedSpanContext) {
      // Zipkin's shared span: the server side of the caller's client span, same id.
      ids.sent0 = hexWord(ctx.spanId, 0);
      ids.sent1 = hexWord(ctx.spanId, 8);
      if (ctx.parentId !== '') {
        ids.hasParent = true;
        ids.parent0 = hexWord(ctx.parentId, 0);
        ids.parent1 = hexWord(ctx.parentId, 8);
      }
      shared = true;
    } else {
      newSentId(ids);
      ids.hasParent = true;
      ids.parent0 = hexWord(ctx.spanId, 0);
      ids.parent1 = hexWord(ctx.spanId, 8);
    }
  } else {
    newTraceId(ids, config.zipkin.traceId128bit);
    newSentId(ids);
  }
  req.trace = ids;
  ids.bits =
    TRACE_LINES | (sampled ? TRACE_SAMPLED : 0) | (present ? (incoming.b3Flags === '1' || incoming.b3Debug ? TRACE_DEBUG : 0) | TRACE_INCOMING : 0);
  if (sampled) startSpan(req, ids, buf, out, config, shared);
  ids.template = linesTemplateFor(ids);
}

/**
 * The sampled request's span (its own function: the unsampled path, most requests at a low sampling rate, stays
 * small code and touches none of this).
 */
function startSpan(req: ActiveRequest, ids: TraceIds, buf: Buffer, out: Uint32Array, config: TracingConfig, shared: boolean): void {
  const tracing = req.conn.worker.tracing;
  const inbound = config.inbound;
  // A sampled request's span takes the ids as words too (span-json.ts writes them as hex): no id string is made.
  const span = tracing.takeSpan();
  span.bits128 = ids.bits128;
  span.traceHigh0 = ids.traceHigh0;
  span.traceHigh1 = ids.traceHigh1;
  span.trace0 = ids.trace0;
  span.trace1 = ids.trace1;
  span.id0 = ids.sent0;
  span.id1 = ids.sent1;
  span.hasParentWords = ids.hasParent;
  span.parent0 = ids.parent0;
  span.parent1 = ids.parent1;
  span.hasUpstreamWords = config.spawnUpstreamSpan;
  if (config.spawnUpstreamSpan) {
    // What the upstream sees as its parent: the router's child span (spawn_upstream_span), whose parent is this span.
    ids.hasParent = true;
    ids.parent0 = ids.sent0;
    ids.parent1 = ids.sent1;
    newSentId(ids);
    span.upstream0 = ids.sent0;
    span.upstream1 = ids.sent1;
  }
  span.shared = shared;
  span.kind = inbound ? KIND_SERVER : KIND_CLIENT;
  span.timestampUs = Math.round((TIME_ORIGIN + req.startMark) * 1000);
  // The name (authority + '/*') and http.url (scheme://authority path?query, cut at max_path_tag_length) are
  // written from these parts (span-json.ts), not joined here.
  span.scheme = req.scheme;
  span.authority = req.authority;
  span.path = req.path;
  span.query = req.query;
  span.maxUrlLength = config.maxPathTagLength;
  span.method = req.method;
  span.protocol = req.http2Stream !== null ? 'HTTP/2' : req.http11 ? 'HTTP/1.1' : 'HTTP/1.0';
  const ua = tracing.incoming.userAgentSlot;
  span.userAgent = ua < 0 ? '' : buf.latin1Slice(out[ua + HEAD.VALUE_START]!, out[ua + HEAD.VALUE_END]!);
  span.requestId = req.requestId;
  span.peerAddress = req.conn.remoteAddress;
  if (config.customTags.length > 0) {
    const custom: string[] = [];
    for (const t of config.customTags) {
      custom.push(t.tag, t.kind === 'literal' ? t.value : findHeader(buf, out, t.header) ?? t.defaultValue);
    }
    span.custom = custom;
  } else span.custom = null;
  ids.span = span;
}

/** The request ended: the span's outcome filled in and queued for its collector. */
export function finishRequestTrace(req: ActiveRequest, span: Span, durationMs: number): void {
  const config = req.hcm?.tracing;
  if (config == null) return;
  span.durationUs = Math.round(durationMs * 1000);
  span.statusCode = req.responseCode;
  const flags = req.flags;
  span.responseFlags = flags === 0 ? NO_FLAGS_TEXT : responseFlagsText(flags); // most requests: no lookup
  const cluster = req.cluster;
  span.upstreamCluster = cluster !== null ? cluster.name : '';
  const endpoint = req.endpoint;
  span.upstreamAddress = endpoint !== null ? endpoint.hostPort : '';
  span.requestSize = req.bytesReceived;
  span.responseSize = req.bytesSent;
  // The reporter's from here (it returns the object to the pool once its JSON is written; access logs'
  // traceable_filter reads the trace's bits, not the span).
  if (req.trace !== null) req.trace.span = null;
  req.conn.worker.tracing.reporterFor(config.zipkin).add(span);
}
