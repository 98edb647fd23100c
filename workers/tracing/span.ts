// One sampled span, as the request leaves it: ids, timing and the few values
// its tags need, kept as plain fields. Made only for a sampled request; its
// Zipkin v2 JSON (span-json.ts) is written into the reporter's batch when the
// request ends, so the object dies young.

export const KIND_SERVER = 0;
export const KIND_CLIENT = 1;

export class Span {
  // ---- at the request's start ----
  kind = KIND_CLIENT;
  /** A server span sharing its caller's client span id (Zipkin's shared span model). */
  shared = false;
  /** The parts of the name (authority + '/*') and of http.url (scheme://authority path?query), joined as written. */
  scheme = '';
  authority = '';
  path = '';
  query = '';
  /** http.url is cut to this many UTF-16 units (max_path_tag_length). */
  maxUrlLength = 256;
  /** Epoch microseconds. */
  timestampUs = 0;
  method = '';
  protocol = '';
  userAgent = '';
  requestId = '';
  peerAddress = '';
  /** custom_tags: tag, value, tag, value, ... */
  custom: string[] | null = null;
  /**
   * The ids as 32-bit words (trace-ids.ts), high word first, copied from the request's TraceIds (span-json.ts
   * writes them as hex; no id string is made). Copied, not referenced, so the request's TraceIds goes back to its
   * pool while the span waits up to a flush interval in the reporter's queue.
   */
  bits128 = false;
  traceHigh0 = 0;
  traceHigh1 = 0;
  trace0 = 0;
  trace1 = 0;
  id0 = 0;
  id1 = 0;
  hasParentWords = false;
  parent0 = 0;
  parent1 = 0;
  hasUpstreamWords = false;
  upstream0 = 0;
  upstream1 = 0;

  // ---- at its end ----
  durationUs = 0;
  statusCode = 0;
  responseFlags = '-';
  upstreamCluster = '';
  upstreamAddress = '';
  requestSize = 0;
  responseSize = 0;

  /** Spans this object reports (itself, and its upstream child). */
  get count(): number {
    return this.hasUpstreamWords ? 2 : 1;
  }
}
