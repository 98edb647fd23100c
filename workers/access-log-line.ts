// One access-log line, built by hand: a general-purpose serializer (pino's,
// JSON.stringify) walks an object per request and was most of the log's
// cost. The fields and their order are fixed, numbers are written as they
// are, and strings go through jsonEscape, which leaves the common case (plain
// printable ASCII) untouched and otherwise writes every quote, backslash,
// control character and non-ASCII code unit as a JSON escape, so the line is
// pure ASCII whatever the peer sent (header values arrive latin1-decoded, one
// char per byte; a lone surrogate cannot break it either).

export interface AccessLogEntry {
  readonly startTime: number; // epoch ms
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly requestId: string;
  readonly authority: string;
  readonly forwardedFor: string;
  readonly userAgent: string;
  /** The downstream TLS peer certificate's first URI SAN (SPIFFE ID); '' when none. */
  readonly peerUriSan: string;
}

/** Any char that cannot stand as itself inside a JSON string of an ASCII line. */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const SHORT_ESCAPES: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };
const HEX = '0123456789abcdef';

function unicodeEscape(c: number): string {
  return '\\u' + HEX[(c >> 12) & 15]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!;
}

/** The contents of a JSON string (without its quotes) that parses back to s, in printable ASCII only. */
export function jsonEscape(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    if (i > last) out += s.slice(last, i);
    out += SHORT_ESCAPES[c] ?? unicodeEscape(c);
    last = i + 1;
  }
  return last < s.length ? out + s.slice(last) : out;
}

/** A number as JSON writes it (non-finite ones as null, as JSON.stringify and pino did). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? '' + n : 'null';
}

let isoSecond = NaN;
let isoPrefix = '';

/** toISOString() of an epoch-ms time, with the part up to the second computed once per second. */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2026-12-06T11:42:45.000Z
    if (iso.length !== 24) return new Date(ms).toISOString(); // years beyond 9999: no cache
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
  }
  const frac = ms - second * 1000;
  return isoPrefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
}

/**
 * The line for one request, newline included: the fields pino wrote before ("level":30 first, then Envoy's
 * default access-log fields), in the same order.
 */
export function accessLogLine(e: AccessLogEntry): string {
  return (
    '{"level":30,"log":"access","start_time":"' + isoTime(e.startTime) +
    '","method":"' + jsonEscape(e.method) +
    '","path":"' + jsonEscape(e.path) +
    '","protocol":"' + jsonEscape(e.protocol) +
    '","response_code":' + jsonNumber(e.responseCode) +
    ',"response_flags":"' + jsonEscape(e.responseFlags) +
    '","bytes_received":' + jsonNumber(e.bytesReceived) +
    ',"bytes_sent":' + jsonNumber(e.bytesSent) +
    ',"duration":' + jsonNumber(Math.round(e.durationMs)) +
    ',"upstream_host":"' + jsonEscape(e.upstreamHost) +
    '","upstream_cluster":"' + jsonEscape(e.upstreamCluster) +
    '","x_forwarded_for":"' + jsonEscape(e.forwardedFor) +
    '","user_agent":"' + jsonEscape(e.userAgent) +
    '","request_id":"' + jsonEscape(e.requestId) +
    '","authority":"' + jsonEscape(e.authority) +
    '","downstream_peer_uri_san":"' + (e.peerUriSan === '' ? '-' : jsonEscape(e.peerUriSan)) +
    '"}\n'
  );
}
