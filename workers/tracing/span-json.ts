// A span's Zipkin v2 JSON written byte by byte straight into its report's
// buffer. Building it as a string (about fifty concatenations, a
// JSON.stringify per value, number-to-string, then flattening and encoding
// into the batch) left ~4 KB of garbage per sampled request: at 100% sampling
// the proxy scavenged 2.5 times as often (`bench tracing`, --trace-gc). Here
// nothing is allocated: fixed words, ids and numbers are written as ASCII,
// other values JSON-escaped and UTF-8-encoded by hand, as JSON.stringify
// would write them.
import { KIND_SERVER, type Span } from './span.js';
import { writeHexWord } from './trace-ids.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX = '0123456789abcdef';

// The fixed JSON pieces, encoded once and copied byte by byte (faster than a charCodeAt loop over the
// literal: ~1.3 vs ~1.5-2.5 µs CPU per span made and written, a micro-benchmark on this machine), numbered in
// the order writeSpanJson writes them.
const L0 = Buffer.from('{"traceId":"', 'latin1');
const L1 = Buffer.from('","id":"', 'latin1');
const L2 = Buffer.from('","parentId":"', 'latin1');
const L3 = Buffer.from(',"timestamp":', 'latin1');
const L4 = Buffer.from(',"duration":', 'latin1');
const L5 = Buffer.from(',"localEndpoint":', 'latin1');
const L6 = Buffer.from(',"shared":true', 'latin1');
const L7 = Buffer.from(',"tags":{"component":"proxy","node_id":', 'latin1');
const L8 = Buffer.from(',"guid:x-request-id":', 'latin1');
const L9 = Buffer.from(',"http.url":', 'latin1');
const L10 = Buffer.from(',"http.method":', 'latin1');
const L11 = Buffer.from(',"http.protocol":', 'latin1');
const L12 = Buffer.from(',"http.status_code":"', 'latin1');
const L13 = Buffer.from('","peer.address":', 'latin1');
const L14 = Buffer.from(',"request_size":"', 'latin1');
const L15 = Buffer.from('","response_size":"', 'latin1');
const L16 = Buffer.from('","response_flags":', 'latin1');
const L17 = Buffer.from(',"user_agent":', 'latin1');
const L18 = Buffer.from(',"upstream_cluster":', 'latin1');
const L19 = Buffer.from(',"upstream_cluster.name":', 'latin1');
const L20 = Buffer.from(',"upstream_address":', 'latin1');
const L21 = Buffer.from(',"error":"true"', 'latin1');
const L22 = Buffer.from('}}', 'latin1');
const L23 = Buffer.from(',{"traceId":"', 'latin1');
const L24 = Buffer.from('","kind":"CLIENT","name":"router ', 'latin1');
const L25 = Buffer.from(' egress","timestamp":', 'latin1');
const L26 = Buffer.from(',"tags":{"component":"proxy","upstream_cluster":', 'latin1');

const KIND_SERVER_NAME = Buffer.from('","kind":"SERVER","name":', 'latin1');
const KIND_CLIENT_NAME = Buffer.from('","kind":"CLIENT","name":', 'latin1');

/**
 * localEndpoint, shared, and the tags up to x-request-id's value are the same for every span of a reporter: joined
 * once (with and without `shared`) and copied as one piece, while the reporter's local and node_id JSON stay the
 * same buffers (one entry: a worker has one service name and node id).
 */
let blockLocal: Buffer | null = null;
let blockNodeId: Buffer | null = null;
let blockPlain = Buffer.alloc(0);
let blockShared = Buffer.alloc(0);

function endpointAndTags(local: Buffer, nodeIdJson: Buffer, shared: boolean): Buffer {
  if (local !== blockLocal || nodeIdJson !== blockNodeId) {
    blockLocal = local;
    blockNodeId = nodeIdJson;
    blockPlain = Buffer.concat([L5, local, L7, nodeIdJson, L8]);
    blockShared = Buffer.concat([L5, local, L6, L7, nodeIdJson, L8]);
  }
  return shared ? blockShared : blockPlain;
}

/** A cached piece longer than this is not kept (a User-Agent can be as long as the head limit allows). */
const MAX_PIECE_BYTES = 1024;

/**
 * One value's JSON piece (with the fixed text around it) as last written, for values that repeat from span to
 * span (a worker's authority, peer, cluster, endpoint, User-Agent): copied in one piece instead of escaped and
 * encoded character by character again. A value is kept once it comes twice in a row, so values that alternate
 * cost no copies; one entry each, so the memory is bounded.
 */
class RepeatedPiece {
  private key: string | null = null;
  private bytes = Buffer.alloc(0);
  private last: string | null = null;

  /** takes a value; returns its piece when it is the kept one, else null (the caller writes it and calls wrote). */
  hit(value: string): Buffer | null {
    return value === this.key ? this.bytes : null;
  }

  /** takes the value and where its piece was just written in buf; keeps a copy when the value came twice in a row. */
  wrote(value: string, buf: Buffer, start: number, end: number): void {
    if (value === this.last && end - start <= MAX_PIECE_BYTES) {
      this.key = value;
      this.bytes = Buffer.from(buf.subarray(start, end));
    }
    this.last = value;
  }

  /**
   * takes a buffer, a position, the value and the fixed pieces around it; writes `before`, the value as a JSON
   * string and `after` (null: none), or the kept piece when the value is its key; returns the end.
   */
  write(buf: Buffer, at: number, value: string, before: Buffer, after: Buffer | null): number {
    if (value === this.key) return lit(buf, at, this.bytes);
    let p = lit(buf, at, before);
    p = jsonString(buf, p, value);
    if (after !== null) p = lit(buf, p, after);
    this.wrote(value, buf, at, p);
    return p;
  }

  /** Drops the kept piece (a value it was made with besides the key changed). */
  forget(): void {
    this.key = this.last = null;
  }
}

const NAME = new RepeatedPiece();
const PEER = new RepeatedPiece();
const USER_AGENT = new RepeatedPiece();
const CLUSTER = new RepeatedPiece();
const ADDRESS = new RepeatedPiece();
const FLAGS = new RepeatedPiece();
/** http.method through http.protocol, kept for the method while the protocol stays lastProtocol. */
const METHOD = new RepeatedPiece();
let lastProtocol: string | null = null;
/** The kind NAME's kept piece was written with. */
let lastKind = -1;

/**
 * response_flags through error: a run of pieces with no per-request value between them, kept whole (one copy instead
 * of five) while flags, User-Agent, cluster, endpoint and the error state are the ones of the span before.
 */
class TailPiece {
  private flags: string | null = null;
  private userAgent = '';
  private cluster = '';
  private address = '';
  private error = false;
  private bytes = Buffer.alloc(0);
  private lastFlags: string | null = null;
  private lastUserAgent = '';
  private lastCluster = '';
  private lastAddress = '';
  private lastError = false;

  /** takes a buffer, a position, the span and its error state; writes the run (kept or piece by piece); returns the end. */
  write(buf: Buffer, at: number, span: Span, error: boolean): number {
    const flags = span.responseFlags;
    const userAgent = span.userAgent;
    const cluster = span.upstreamCluster;
    const address = span.upstreamAddress;
    if (flags === this.flags && userAgent === this.userAgent && cluster === this.cluster && address === this.address && error === this.error) {
      return lit(buf, at, this.bytes);
    }
    let p = FLAGS.write(buf, at, flags, L16, null);
    if (userAgent !== '') p = USER_AGENT.write(buf, p, userAgent, L17, null);
    if (cluster !== '') {
      const kept = CLUSTER.hit(cluster);
      if (kept !== null) p = lit(buf, p, kept);
      else {
        const start = p;
        p = lit(buf, p, L18);
        p = jsonString(buf, p, cluster);
        p = lit(buf, p, L19);
        p = jsonString(buf, p, cluster);
        CLUSTER.wrote(cluster, buf, start, p);
      }
    }
    if (address !== '') p = ADDRESS.write(buf, p, address, L20, null);
    if (error) p = lit(buf, p, L21);
    if (flags === this.lastFlags && userAgent === this.lastUserAgent && cluster === this.lastCluster && address === this.lastAddress && error === this.lastError && p - at <= MAX_PIECE_BYTES) {
      this.flags = flags;
      this.userAgent = userAgent;
      this.cluster = cluster;
      this.address = address;
      this.error = error;
      this.bytes = Buffer.from(buf.subarray(at, p));
    }
    this.lastFlags = flags;
    this.lastUserAgent = userAgent;
    this.lastCluster = cluster;
    this.lastAddress = address;
    this.lastError = error;
    return p;
  }
}

const TAIL = new TailPiece();

/** Bytes of fixed JSON (keys, punctuation, ids, numbers) in one span object and its child, with room to spare. */
const FIXED_BYTES = 1200;
/** Most bytes one UTF-16 unit of a value can take escaped (`\u001f`). */
const MAX_BYTES_PER_UNIT = 6;

/** takes a span and its worker's localEndpoint and node_id JSON; returns the most bytes writeSpanJson can write for it. */
export function spanJsonBound(span: Span, local: Buffer, nodeIdJson: Buffer): number {
  let units =
    2 * span.authority.length + 2 + span.scheme.length + 3 + span.path.length + 1 + span.query.length + span.method.length + span.protocol.length + span.userAgent.length +
    span.requestId.length + span.peerAddress.length + 4 * span.upstreamCluster.length + span.upstreamAddress.length +
    span.responseFlags.length;
  const custom = span.custom;
  if (custom !== null) for (let i = 0; i < custom.length; i++) units += custom[i]!.length + 4;
  return FIXED_BYTES + 2 * (local.length + nodeIdJson.length) + MAX_BYTES_PER_UNIT * units;
}

/**
 * takes a buffer with spanJsonBound bytes free from `at`, the span, and the JSON of localEndpoint and node_id;
 * writes the span's Zipkin v2 JSON object (and its upstream child's, comma-joined, when it has one); returns the end.
 */
export function writeSpanJson(buf: Buffer, at: number, span: Span, local: Buffer, nodeIdJson: Buffer): number {
  const error = span.statusCode === 0 || span.statusCode >= 500;
  const duration = span.durationUs >= 1 ? span.durationUs : 1; // NaN too
  let p = lit(buf, at, L0);
  p = traceIdJson(buf, p, span);
  p = lit(buf, p, L1);
  p = hexId(buf, p, span.id0, span.id1);
  if (span.hasParentWords) {
    p = lit(buf, p, L2);
    p = hexId(buf, p, span.parent0, span.parent1);
  }
  // kind, name (authority + '/*') and the timestamp key: one piece, kept for the authority while the kind stays.
  if (span.kind !== lastKind) {
    NAME.forget();
    lastKind = span.kind;
  }
  const name = NAME.hit(span.authority);
  if (name !== null) p = lit(buf, p, name);
  else {
    const start = p;
    p = lit(buf, p, span.kind === KIND_SERVER ? KIND_SERVER_NAME : KIND_CLIENT_NAME);
    buf[p++] = QUOTE;
    p = jsonStringBody(buf, p, span.authority, span.authority.length);
    buf[p++] = 0x2f; // /
    buf[p++] = 0x2a; // *
    buf[p++] = QUOTE;
    p = lit(buf, p, L3);
    NAME.wrote(span.authority, buf, start, p);
  }
  p = integer(buf, p, span.timestampUs);
  p = lit(buf, p, L4);
  p = integer(buf, p, duration);
  p = lit(buf, p, endpointAndTags(local, nodeIdJson, span.shared));
  p = jsonString(buf, p, span.requestId);
  p = lit(buf, p, L9);
  p = urlJson(buf, p, span);
  const methodProtocol = span.protocol === lastProtocol ? METHOD.hit(span.method) : null;
  if (methodProtocol !== null) p = lit(buf, p, methodProtocol);
  else {
    const start = p;
    p = lit(buf, p, L10);
    p = jsonString(buf, p, span.method);
    p = lit(buf, p, L11);
    p = jsonString(buf, p, span.protocol);
    p = lit(buf, p, L12);
    if (span.protocol !== lastProtocol) METHOD.forget();
    lastProtocol = span.protocol;
    METHOD.wrote(span.method, buf, start, p);
  }
  p = integer(buf, p, span.statusCode);
  p = PEER.write(buf, p, span.peerAddress, L13, L14);
  p = integer(buf, p, span.requestSize);
  p = lit(buf, p, L15);
  p = integer(buf, p, span.responseSize);
  p = TAIL.write(buf, p, span, error);
  const custom = span.custom;
  if (custom !== null) {
    for (let i = 0; i + 1 < custom.length; i += 2) {
      buf[p++] = 0x2c; // ,
      p = jsonString(buf, p, custom[i]!);
      buf[p++] = 0x3a; // :
      p = jsonString(buf, p, custom[i + 1]!);
    }
  }
  p = lit(buf, p, L22);
  if (!span.hasUpstreamWords) return p;
  // spawn_upstream_span: the router's child CLIENT span.
  p = lit(buf, p, L23);
  p = traceIdJson(buf, p, span);
  p = lit(buf, p, L1);
  p = hexId(buf, p, span.upstream0, span.upstream1);
  p = lit(buf, p, L2);
  p = hexId(buf, p, span.id0, span.id1);
  p = lit(buf, p, L24);
  const cluster = span.upstreamCluster === '' ? '-' : span.upstreamCluster;
  p = jsonStringBody(buf, p, cluster, cluster.length);
  p = lit(buf, p, L25);
  p = integer(buf, p, span.timestampUs);
  p = lit(buf, p, L4);
  p = integer(buf, p, duration);
  p = lit(buf, p, L5);
  p = bytes(buf, p, local);
  p = lit(buf, p, L26);
  p = jsonString(buf, p, span.upstreamCluster);
  p = lit(buf, p, L12);
  p = integer(buf, p, span.statusCode);
  p = ascii(buf, p, error ? '","error":"true"}}' : '"}}');
  return p;
}

/** Writes a 64-bit id held as two words as 16 hex digits. */
function hexId(buf: Buffer, at: number, w0: number, w1: number): number {
  writeHexWord(buf, at, w0);
  writeHexWord(buf, at + 8, w1);
  return at + 16;
}

/** Writes the span's trace id (64 or 128 bits). */
function traceIdJson(buf: Buffer, at: number, span: Span): number {
  let p = at;
  if (span.bits128) p = hexId(buf, p, span.traceHigh0, span.traceHigh1);
  return hexId(buf, p, span.trace0, span.trace1);
}

/** Writes a string known to be ASCII with nothing to escape (fixed JSON, hex ids). */
function ascii(buf: Buffer, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/**
 * Pieces at least this long are copied by TypedArray set (a memmove after a fixed cost), shorter ones byte by
 * byte: 39 bytes took ~20 ns by set and ~45 ns by the loop (micro-benchmark on this machine).
 */
const SET_MIN = 16;

/** Writes a fixed piece. */
function lit(buf: Buffer, at: number, b: Buffer): number {
  const n = b.length;
  if (n >= SET_MIN) {
    buf.set(b, at);
    return at + n;
  }
  for (let i = 0; i < n; i++) buf[at + i] = b[i]!;
  return at + n;
}

const bytes = lit;

/** The two decimal digits of 0..99, the first in the low byte: one division by 100 writes two digits. */
const DIGIT_PAIRS = new Uint16Array(100);
for (let v = 0; v < 100; v++) DIGIT_PAIRS[v] = (48 + ((v / 10) | 0)) | ((48 + (v % 10)) << 8);

/**
 * Writes a non-negative integer in decimal (a negative or fractional one as its floor, at least 0; NaN as 0, and
 * past 2^53 - 1, where doubles stop being integers, as 2^53 - 1: no Infinity recursing without end).
 */
function integer(buf: Buffer, at: number, value: number): number {
  const n = value > 0 ? (value <= Number.MAX_SAFE_INTEGER ? Math.floor(value) : Number.MAX_SAFE_INTEGER) : 0;
  // An epoch timestamp in µs has 16 digits: the high part, then the 8 low digits in int32 arithmetic (floor-dividing
  // a double digit by digit cost more than writing the rest of the span's numbers).
  if (n < 1e8) return small(buf, at, n);
  const high = Math.floor(n / 1e8);
  const p = integer(buf, at, high);
  let low = (n - high * 1e8) | 0;
  for (let i = p + 6; i >= p; i -= 2) {
    const q = (low / 100) | 0;
    const d = DIGIT_PAIRS[low - q * 100]!;
    buf[i] = d;
    buf[i + 1] = d >> 8;
    low = q;
  }
  return p + 8;
}

/** Writes 0 <= n < 1e8 in decimal, two digits a division. */
function small(buf: Buffer, at: number, n: number): number {
  let v = n | 0;
  const digits = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : v < 100000 ? 5 : v < 1000000 ? 6 : v < 10000000 ? 7 : 8;
  let i = at + digits;
  while (v >= 100) {
    const q = (v / 100) | 0;
    const d = DIGIT_PAIRS[v - q * 100]!;
    buf[i - 1] = d >> 8;
    buf[i - 2] = d;
    i -= 2;
    v = q;
  }
  if (v >= 10) {
    const d = DIGIT_PAIRS[v]!;
    buf[i - 1] = d >> 8;
    buf[i - 2] = d;
  } else buf[i - 1] = 48 + v;
  return at + digits;
}

/** Writes a JSON string: quotes, escapes, UTF-8. */
function jsonString(buf: Buffer, at: number, s: string): number {
  buf[at] = QUOTE;
  const p = jsonStringBody(buf, at + 1, s, s.length);
  buf[p] = QUOTE;
  return p + 1;
}

const SCHEME_END = '://';

/**
 * Writes http.url as a JSON string: scheme://authority path[?query], the first span.maxUrlLength UTF-16 units
 * of it (as slicing the joined string would; the parts are latin1 from the head, so a cut never splits a pair).
 */
function urlJson(buf: Buffer, at: number, span: Span): number {
  let left = span.maxUrlLength;
  let p = at;
  buf[p++] = QUOTE;
  p = jsonStringBody(buf, p, span.scheme, left);
  left -= Math.min(left, span.scheme.length);
  p = jsonStringBody(buf, p, SCHEME_END, left);
  left -= Math.min(left, SCHEME_END.length);
  p = jsonStringBody(buf, p, span.authority, left);
  left -= Math.min(left, span.authority.length);
  p = jsonStringBody(buf, p, span.path, left);
  left -= Math.min(left, span.path.length);
  if (span.query !== '' && left > 0) {
    buf[p++] = 0x3f; // ?
    p = jsonStringBody(buf, p, span.query, left - 1);
  }
  buf[p++] = QUOTE;
  return p;
}

/**
 * Writes the first `limit` UTF-16 units of a string JSON-escaped as UTF-8, without the quotes (as JSON.stringify
 * escapes: \" \\ \b \f \n \r \t, other controls and lone surrogates as \uXXXX).
 */
function jsonStringBody(buf: Buffer, at: number, s: string, limit: number): number {
  const n = s.length < limit ? s.length : limit;
  // Most values (ids, URLs, addresses) are printable ASCII with no quote or backslash: one range test a unit.
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) break;
    buf[at + i] = c;
  }
  return i === n ? at + n : jsonStringRest(buf, at + i, s, i, n);
}

/** jsonStringBody from unit i on (the first that needs an escape or more than one byte), to unit n. */
function jsonStringRest(buf: Buffer, at: number, s: string, from: number, n: number): number {
  let p = at;
  for (let i = from; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH) {
        buf[p++] = c;
        continue;
      }
      buf[p++] = BACKSLASH;
      if (c === QUOTE || c === BACKSLASH) buf[p++] = c;
      else if (c === 0x0a) buf[p++] = 0x6e; // n
      else if (c === 0x0d) buf[p++] = 0x72; // r
      else if (c === 0x09) buf[p++] = 0x74; // t
      else if (c === 0x08) buf[p++] = 0x62; // b
      else if (c === 0x0c) buf[p++] = 0x66; // f
      else p = unicodeEscape(buf, p, c);
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      buf[p++] = 0xf0 | (cp >> 18);
      buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[p++] = 0x80 | (cp & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      buf[p++] = BACKSLASH;
      p = unicodeEscape(buf, p, c);
    } else {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p;
}

/** Writes `uXXXX` (the backslash already written). */
function unicodeEscape(buf: Buffer, at: number, c: number): number {
  buf[at] = 0x75; // u
  buf[at + 1] = HEX.charCodeAt((c >> 12) & 15);
  buf[at + 2] = HEX.charCodeAt((c >> 8) & 15);
  buf[at + 3] = HEX.charCodeAt((c >> 4) & 15);
  buf[at + 4] = HEX.charCodeAt(c & 15);
  return at + 5;
}
