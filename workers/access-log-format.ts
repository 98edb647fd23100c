// A log format compiled once per config into an array of parts: literal text,
// or an operator code with its argument. A line is the parts evaluated in
// order and concatenated; there is no general-purpose serializer on the
// request path. Values come straight from the finished request (ActiveRequest
// and its connection) and the headers the access-log set captured for it.
//
// Escaping: a JSON line is ASCII (jsonEscape escapes every quote, backslash,
// control and non-ASCII char); in a TEXT line an operator's value has its
// control characters written as \xNN, so a peer cannot start a line of its own.
// Literal text from the config is stored as UTF-8 bytes, one char per byte,
// as the writer (latin1) expects.
import { hostname } from 'node:os';
import type { FormatPart } from '../src/config/access-log-format.js';
import type { AccessLogFormat, JsonFormatField } from '../src/config/access-log-config.js';
import type { ActiveRequest } from './active-request.js';
import { jsonEscape } from './access-log-line.js';
import { StartTimeFormat } from './access-log-time.js';
import { responseFlagsText } from './response-flags.js';

/** What a line is built from besides the request: its times, and where the chain's captured headers sit. */
export interface LogTimes {
  /** epoch ms */
  startMs: number;
  durationMs: number;
  /** performance.now() when the request ended */
  endMark: number;
}

/** Gives captured header slots (request and response) to the formatters of one chain. */
export interface HeaderSlots {
  requestSlot(name: string): number;
  responseSlot(name: string): number;
}

/** Where the request arrived (per chain): DOWNSTREAM_LOCAL_ADDRESS. */
export interface ChainFacts {
  readonly localAddress: string;
  readonly localPort: number;
}

const OP = {
  START_TIME: 1, REQ: 2, RESP: 3, TRAILER: 4, PROTOCOL: 5, RESPONSE_CODE: 6, RESPONSE_CODE_DETAILS: 7, RESPONSE_FLAGS: 8,
  CONNECTION_TERMINATION_DETAILS: 9, BYTES_RECEIVED: 10, BYTES_SENT: 11, DURATION: 12, REQUEST_DURATION: 13,
  RESPONSE_DURATION: 14, RESPONSE_TX_DURATION: 15, UPSTREAM_HOST: 16, UPSTREAM_CLUSTER: 17, UPSTREAM_CLUSTER_RAW: 17,
  UPSTREAM_LOCAL_ADDRESS: 18, UPSTREAM_TRANSPORT_FAILURE_REASON: 19, DOWNSTREAM_REMOTE_ADDRESS: 20,
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: 21, DOWNSTREAM_LOCAL_ADDRESS: 22, DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: 23,
  DOWNSTREAM_LOCAL_PORT: 24, DOWNSTREAM_PEER_URI_SAN: 25, DOWNSTREAM_TLS_VERSION: 26, REQUESTED_SERVER_NAME: 27,
  ROUTE_NAME: 28, UPSTREAM_REQUEST_ATTEMPT_COUNT: 29, CONNECTION_ID: 30, HOSTNAME: 31, GRPC_STATUS: 32,
  // REQ pseudo-headers and headers the request already holds
  REQ_METHOD: 40, REQ_PATH: 41, REQ_AUTHORITY: 42, REQ_SCHEME: 43, REQ_REQUEST_ID: 44, REQ_FORWARDED_FOR: 45, REQ_ORIGINAL_PATH: 46,
} as const;

/** One compiled operator. */
class Operator {
  constructor(
    readonly code: number,
    /** REQ/RESP: the captured header's slot; -1 when the value comes from the request itself. */
    readonly slot: number,
    /** REQ/RESP `X?Y`: Y's operator (used when X is absent). */
    readonly alt: Operator | null,
    readonly maxLength: number,
    readonly time: StartTimeFormat | null,
    readonly constant: string,
  ) {}
}

/** Headers the request already carries as fields (no capture needed). */
const REQUEST_FIELDS: Readonly<Record<string, number>> = {
  ':method': OP.REQ_METHOD, ':path': OP.REQ_PATH, ':authority': OP.REQ_AUTHORITY, host: OP.REQ_AUTHORITY,
  ':scheme': OP.REQ_SCHEME, 'x-request-id': OP.REQ_REQUEST_ID, 'x-forwarded-for': OP.REQ_FORWARDED_FOR,
  // Isthmus never rewrites the path before logging: the original path is the path (Envoy's fallback then applies).
  'x-envoy-original-path': OP.REQ_ORIGINAL_PATH,
};

const HOSTNAME = hostname();

function compileOperator(part: Exclude<FormatPart, string>, slots: HeaderSlots, facts: ChainFacts, header = part.arg): Operator {
  const code = OP[part.op];
  let constant = '';
  if (code === OP.HOSTNAME) constant = HOSTNAME;
  else if (code === OP.DOWNSTREAM_LOCAL_ADDRESS) constant = facts.localAddress.includes(':') ? `[${facts.localAddress}]:${facts.localPort}` : `${facts.localAddress}:${facts.localPort}`;
  else if (code === OP.DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT) constant = facts.localAddress;
  else if (code === OP.DOWNSTREAM_LOCAL_PORT) constant = '' + facts.localPort;
  if (code === OP.REQ || code === OP.RESP) {
    const alt = header === part.arg && part.alt !== '' ? compileOperator(part, slots, facts, part.alt) : null;
    const field = code === OP.REQ ? REQUEST_FIELDS[header] : undefined;
    if (field !== undefined) return new Operator(field, -1, alt, part.maxLength, null, '');
    const slot = code === OP.REQ ? slots.requestSlot(header) : header.startsWith(':') ? -1 : slots.responseSlot(header);
    return new Operator(code, slot, alt, part.maxLength, null, '');
  }
  return new Operator(code, -1, null, part.maxLength, code === OP.START_TIME ? new StartTimeFormat(part.arg) : null, constant);
}

/** A peer's text as a TEXT line may hold it: control characters (CR, LF, ...) as \xNN. */
const CONTROL = /[\x00-\x1f\x7f]/;
function textSafe(s: string): string {
  if (!CONTROL.test(s)) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c < 0x20 || c === 0x7f ? '\\x' + (c < 16 ? '0' : '') + c.toString(16) : s[i]!;
  }
  return out;
}

/** Envoy's RESPONSE_CODE_DETAILS for what Isthmus knows of how the response came to be. */
function responseCodeDetails(req: ActiveRequest): string | null {
  if (req.responseStartMark > 0) return 'via_upstream';
  if (req.responseCode === 0) return null;
  const f = responseFlagsText(req.flags);
  if (f.includes('NR')) return 'route_not_found';
  if (f.includes('UH')) return 'no_healthy_upstream';
  if (f.includes('UF')) return 'upstream_reset_before_response_started{connection_failure}';
  if (f.includes('UT')) return 'upstream_response_timeout';
  if (f.includes('UO')) return 'upstream_reset_before_response_started{overflow}';
  if (f.includes('UC')) return 'upstream_reset_before_response_started{connection_termination}';
  if (f.includes('UPE')) return 'upstream_reset_before_response_started{protocol_error}';
  if (f.includes('DPE')) return 'http1.codec_error';
  if (f.includes('FI')) return 'fault_filter_abort';
  if (f.includes('SI')) return 'stream_idle_timeout';
  return req.route !== null ? 'direct_response' : 'local_reply';
}

function ms(from: number, to: number): number | null {
  return from > 0 && to >= from ? Math.floor(to - from) : null;
}

/** An operator's value: a string, a number (written bare in JSON), or null when it has none ('-' in TEXT). */
function valueOf(o: Operator, req: ActiveRequest, t: LogTimes): string | number | null {
  switch (o.code) {
    case OP.START_TIME: return o.time!.render(t.startMs);
    case OP.REQ_METHOD: return req.method === '' ? null : req.method;
    case OP.REQ_PATH: return req.query === '' ? req.path : req.path + '?' + req.query;
    case OP.REQ_ORIGINAL_PATH: return o.alt === null ? null : valueOf(o.alt, req, t);
    case OP.REQ_AUTHORITY: return req.authority === '' ? null : req.authority;
    case OP.REQ_SCHEME: return req.conn.tlsVersion === '' ? 'http' : 'https';
    case OP.REQ_REQUEST_ID: return req.requestId === '' ? null : req.requestId;
    case OP.REQ_FORWARDED_FOR: return req.forwardedFor === '' ? null : req.forwardedFor;
    case OP.REQ: {
      const v = req.loggedRequestHeaders === null ? undefined : req.loggedRequestHeaders[o.slot];
      return v !== undefined && v !== '' ? v : o.alt === null ? null : valueOf(o.alt, req, t);
    }
    case OP.RESP: {
      const v = req.loggedResponseHeaders === null || o.slot < 0 ? undefined : req.loggedResponseHeaders[o.slot];
      return v !== undefined && v !== '' ? v : o.alt === null ? null : valueOf(o.alt, req, t);
    }
    case OP.TRAILER: return null; // HTTP/1.1 trailers are not kept
    case OP.PROTOCOL: return req.http11 ? 'HTTP/1.1' : 'HTTP/1.0';
    case OP.RESPONSE_CODE: return req.responseCode;
    case OP.RESPONSE_CODE_DETAILS: return responseCodeDetails(req);
    case OP.RESPONSE_FLAGS: return responseFlagsText(req.flags);
    case OP.BYTES_RECEIVED: return req.bytesReceived;
    case OP.BYTES_SENT: return req.bytesSent;
    case OP.DURATION: return Math.floor(t.durationMs);
    case OP.REQUEST_DURATION: return ms(req.startMark, req.requestEndMark);
    case OP.RESPONSE_DURATION: return ms(req.startMark, req.responseStartMark);
    case OP.RESPONSE_TX_DURATION: return ms(req.responseStartMark, t.endMark);
    case OP.UPSTREAM_HOST: {
      const e = req.endpoint;
      return e === null ? null : e.hostPort;
    }
    case OP.UPSTREAM_CLUSTER: {
      const c = req.cluster;
      return c === null ? null : c.name;
    }
    case OP.DOWNSTREAM_REMOTE_ADDRESS: {
      const a = req.conn.remoteAddress;
      if (a === '') return null;
      const port = req.conn.remotePort;
      return port === 0 ? a : a.includes(':') ? '[' + a + ']:' + port : a + ':' + port;
    }
    case OP.DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: return req.conn.remoteAddress === '' ? null : req.conn.remoteAddress;
    case OP.DOWNSTREAM_LOCAL_ADDRESS:
    case OP.DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT:
    case OP.DOWNSTREAM_LOCAL_PORT:
    case OP.HOSTNAME:
      return o.constant;
    case OP.DOWNSTREAM_PEER_URI_SAN: return req.conn.peerUriSan === '' ? null : req.conn.peerUriSan;
    case OP.DOWNSTREAM_TLS_VERSION: return req.conn.tlsVersion === '' ? null : req.conn.tlsVersion;
    case OP.REQUESTED_SERVER_NAME: return req.conn.requestedServerName === '' ? null : req.conn.requestedServerName;
    case OP.ROUTE_NAME: return req.route === null || req.route.route.name === '' ? null : req.route.route.name;
    case OP.UPSTREAM_REQUEST_ATTEMPT_COUNT: return req.upstreamAttempts;
    case OP.CONNECTION_ID: return req.conn.id;
    default: return null; // CONNECTION_TERMINATION_DETAILS, UPSTREAM_LOCAL_ADDRESS, UPSTREAM_TRANSPORT_FAILURE_REASON, GRPC_STATUS
  }
}

function truncated(s: string, max: number): string {
  return max > 0 && s.length > max ? s.slice(0, max) : s;
}

/** A text value: a string segment or an operator. */
type TextPart = string | Operator;

function compileParts(parts: readonly FormatPart[], slots: HeaderSlots, facts: ChainFacts): TextPart[] {
  // Literal text as its UTF-8 bytes, one char per byte (the writer writes latin1).
  return parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8').toString('latin1') : compileOperator(p, slots, facts)));
}

/** Parts in TEXT form: null values as `empty` ('-', or '' with omit_empty_values), control chars escaped. */
function renderText(parts: readonly TextPart[], empty: string, req: ActiveRequest, t: LogTimes): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (typeof p === 'string') {
      out += p;
      continue;
    }
    const v = valueOf(p, req, t);
    out += v === null ? empty : typeof v === 'number' ? '' + v : textSafe(truncated(v, p.maxLength));
  }
  return out;
}

/** A json_format value, compiled. */
class JsonEntry {
  constructor(
    /** `"key":` */
    readonly keyPrefix: string,
    /** A value that is one operator alone: typed (numbers bare, null when none). */
    readonly single: Operator | null,
    /** Text and operators mixed: a JSON string. */
    readonly parts: readonly TextPart[] | null,
    /** A number or boolean from the config, as JSON text. */
    readonly literal: string | null,
    readonly object: readonly JsonEntry[] | null,
  ) {}
}

function compileJson(fields: readonly JsonFormatField[], slots: HeaderSlots, facts: ChainFacts): JsonEntry[] {
  return fields.map((f) => {
    const key = '"' + jsonEscape(f.key) + '":';
    const v = f.value;
    if (v.kind === 'literal') return new JsonEntry(key, null, null, v.json, null);
    if (v.kind === 'object') return new JsonEntry(key, null, null, null, compileJson(v.fields, slots, facts));
    if (v.parts.length === 1 && typeof v.parts[0] !== 'string') return new JsonEntry(key, compileOperator(v.parts[0]!, slots, facts), null, null, null);
    return new JsonEntry(key, null, compileParts(v.parts, slots, facts), null, null);
  });
}

function renderJson(entries: readonly JsonEntry[], omitEmpty: boolean, req: ActiveRequest, t: LogTimes): string {
  let out = '{';
  let first = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    let value: string;
    if (e.single !== null) {
      const v = valueOf(e.single, req, t);
      if (v === null) {
        if (omitEmpty) continue;
        value = 'null';
      } else {
        value = typeof v === 'number' ? (Number.isFinite(v) ? '' + v : 'null') : '"' + jsonEscape(truncated(v, e.single.maxLength)) + '"';
      }
    } else if (e.parts !== null) {
      // jsonEscape of latin1 text escapes bytes >= 0x80 one by one; a config's UTF-8 literal shows as its bytes.
      value = '"' + jsonEscape(renderText(e.parts, '-', req, t)) + '"';
    } else if (e.literal !== null) {
      value = e.literal;
    } else {
      value = renderJson(e.object!, omitEmpty, req, t);
    }
    out += (first ? '' : ',') + e.keyPrefix + value;
    first = false;
  }
  return out + '}';
}

/** One access log's format, compiled for one filter chain. */
export class LineFormatter {
  private readonly text: readonly TextPart[] | null;
  private readonly json: readonly JsonEntry[] | null;
  private readonly empty: string;
  private readonly omitEmpty: boolean;

  constructor(format: AccessLogFormat, slots: HeaderSlots, facts: ChainFacts) {
    this.omitEmpty = format.omitEmptyValues;
    this.empty = format.omitEmptyValues ? '' : '-';
    this.text = format.kind === 'text' ? compileParts(format.text, slots, facts) : null;
    this.json = format.kind === 'json' ? compileJson(format.json, slots, facts) : null;
  }

  /** The line (a JSON line ends with a newline; a TEXT line is exactly what its format says, as in Envoy). */
  format(req: ActiveRequest, t: LogTimes): string {
    if (this.text !== null) return renderText(this.text, this.empty, req, t);
    return renderJson(this.json!, this.omitEmpty, req, t) + '\n';
  }
}
