// Zipkin's v2 HTTP API on the control plane's admin port, enough for proxies
// to report to it and for the dashboard (or any Zipkin client) to read back:
//   POST /api/v2/spans          a JSON array of spans -> 202 (what Envoy's zipkin tracer posts with HTTP_JSON)
//   GET  /api/v2/traces?limit=N[&serviceName=S]  recent traces, newest first, each an array of spans (at most ~4 MiB)
//   GET  /api/v2/trace/{traceId}                 one trace's spans, 404 when not held
//   GET  /api/v2/services                        the service names seen
// POST needs Content-Type application/json (no form a web page could send
// without a preflight) and passes the admin request guard like every admin
// route; bodies over the limit are refused unread (413).
import { jsonReply, reply, TEXT, type AdminRoute, type Reply } from '../../src/admin/admin-http.js';
import { queryParam } from '../../src/admin/query-param.js';
import type { SpanStore } from './span-store.js';
import { DEFAULT_SPAN_LIMITS, readZipkinSpan, type SpanLimits, type ZipkinSpan } from './zipkin-span.js';

export interface ZipkinRouteLimits {
  readonly maxBodyBytes: number;
  /** Spans read from one POST; the rest are counted as dropped. */
  readonly maxSpansPerRequest: number;
  readonly span: SpanLimits;
}

export const DEFAULT_ZIPKIN_ROUTE_LIMITS: ZipkinRouteLimits = Object.freeze({ maxBodyBytes: 1024 * 1024, maxSpansPerRequest: 1000, span: DEFAULT_SPAN_LIMITS });

const MAX_LIST = 100;
// What one trace list may carry. uWS keeps whatever a reader does not take, until its ~10 s timeout: 40
// connections that asked for a list of 100 full traces (63 MB) and never read held 2.6 GB of the control plane.
const MAX_LIST_BYTES = 4 * 1024 * 1024;
const EMPTY_ACCEPTED: Reply = { status: 202, contentType: TEXT, body: '' };

/** Takes a POST body; stores what it can and answers as Zipkin does (202, or 400 naming the problem). */
export function acceptSpans(store: SpanStore, body: string, limits: ZipkinRouteLimits = DEFAULT_ZIPKIN_ROUTE_LIMITS): Reply {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    store.counters.dropped.body_rejected++;
    return reply(400, TEXT, `POST /api/v2/spans: the body is not JSON (${(err as Error).message.slice(0, 200)})\n`);
  }
  if (!Array.isArray(parsed)) {
    store.counters.dropped.body_rejected++;
    return reply(400, TEXT, 'POST /api/v2/spans: the body must be a JSON array of Zipkin v2 spans\n');
  }
  const taken = parsed.length > limits.maxSpansPerRequest ? parsed.slice(0, limits.maxSpansPerRequest) : parsed;
  store.counters.dropped.request_too_many += parsed.length - taken.length;
  const spans: ZipkinSpan[] = [];
  let firstProblem: string | undefined;
  for (let i = 0; i < taken.length; i++) {
    const read = readZipkinSpan(taken[i], limits.span);
    if (read.ok) spans.push(read.span);
    else {
      store.counters.dropped.invalid++;
      firstProblem ??= `span ${i}: ${read.reason}`;
    }
  }
  store.add(spans);
  if (spans.length === 0 && firstProblem !== undefined) return reply(400, TEXT, `POST /api/v2/spans: no span usable; ${firstProblem}\n`);
  return EMPTY_ACCEPTED;
}

function limitOf(query: string): number {
  const raw = queryParam(query, 'limit');
  const n = raw === undefined ? 10 : Number.parseInt(raw, 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, MAX_LIST) : 10;
}

export function zipkinRoutes(store: SpanStore, limits: ZipkinRouteLimits = DEFAULT_ZIPKIN_ROUTE_LIMITS): AdminRoute[] {
  return [
    {
      method: 'POST',
      path: '/api/v2/spans',
      maxBodyBytes: limits.maxBodyBytes,
      contentTypes: ['application/json'],
      handle: (body) => acceptSpans(store, body, limits),
    },
    {
      method: 'GET',
      path: '/api/v2/traces',
      handle: (_body, query) => jsonReply(200, store.recent(limitOf(query), queryParam(query, 'serviceName')?.toLowerCase(), MAX_LIST_BYTES)),
    },
    {
      method: 'GET',
      path: '/api/v2/trace/:traceId',
      handle: (_body, _query, params) => {
        const spans = store.trace(params[0] ?? '');
        return spans === undefined ? reply(404, TEXT, `trace ${JSON.stringify((params[0] ?? '').slice(0, 64))} not found\n`) : jsonReply(200, spans);
      },
    },
    {
      method: 'GET',
      path: '/api/v2/services',
      handle: () => {
        const names = new Set<string>();
        for (const spans of store.recent(store.limits.maxTraces)) for (const s of spans) if (s.localEndpoint?.serviceName) names.add(s.localEndpoint.serviceName);
        return jsonReply(200, [...names].sort());
      },
    },
  ];
}
