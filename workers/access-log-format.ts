// A log format compiled once per config into one function that writes the
// line's bytes straight into the sink's batch buffer (a LineWriter), the way a
// hand-written line builder would: each operator becomes an expression over
// the finished request (ActiveRequest, its connection, the headers the
// access-log set captured) written by the writer, each literal a run of
// constant bytes. There is no general-purpose serializer, no line string and
// no per-part dispatch on the request path (an interpreter over the parts cost
// 2-3x the hand-built line; a string concatenation per part made ~2 KB of
// garbage per line). The rare shape (omit_empty_values JSON) is
// built as strings by the same generated code and written whole. Only integers
// and JSON.stringify'd text from the config reach the generated source; a
// value from a peer is never code.
//
// Escaping: a JSON line is ASCII (jsonEscape escapes every quote, backslash,
// control and non-ASCII char); in a TEXT line an operator's value has its
// control characters written as \xNN, so a peer cannot start a line of its own.
// Literal text from the config is stored as UTF-8 bytes, one char per byte,
// as the writer (latin1) expects.
import { hostname } from 'node:os';
import type { FormatOperator, FormatPart } from '../src/config/access-log-format.js';
import type { AccessLogFormat, JsonFormatField } from '../src/config/access-log-config.js';
import type { ActiveRequest } from './active-request.js';
import { jsonEscape } from './access-log-line.js';
import { StartTimeFormat } from './access-log-time.js';
import { LineWriter } from './access-log-writer.js';
import { responseFlagsText } from './response-flags.js';

/** What a line is built from besides the request: its times. */
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
  /** A format reads the request's end / response's start marks (requestEndMark, responseStartMark): the request keeps them. */
  needMarks(): void;
}

/** Where the request arrived (per chain): DOWNSTREAM_LOCAL_ADDRESS. */
export interface ChainFacts {
  readonly localAddress: string;
  readonly localPort: number;
}

/** How an operator's value is written: a string that needs escaping, one that never does (ours), or a number. */
type ValueKind = 'string' | 'safe' | 'number';

interface ValueCode {
  /** A JS expression over `req`, `t` and `H` giving the value, or null when there is none. */
  readonly expr: string;
  readonly kind: ValueKind;
  /** False for values every request has (the code then skips the null test). */
  readonly nullable: boolean;
  /** A statement writing the value to `w` without making its string (%START_TIME%'s default form). */
  readonly write?: string;
}

/** A value that may be null / one that never is. */
const maybe = (expr: string, kind: ValueKind): ValueCode => ({ expr, kind, nullable: true });
const always = (expr: string, kind: ValueKind): ValueCode => ({ expr, kind, nullable: false });
const NONE = maybe('null', 'safe');

const HOSTNAME = hostname();

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

// gRPC status codes by number (grpc/doc/statuscodes.md), as Envoy's %GRPC_STATUS% names them.
const GRPC_STATUS_NAMES = ['OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists',
  'PermissionDenied', 'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal',
  'Unavailable', 'DataLoss', 'Unauthenticated'];

/** The helpers generated code calls (passed in as H; no closure per request). */
const HELPERS = {
  esc: jsonEscape,
  textSafe,
  details: responseCodeDetails,
  flags: responseFlagsText,
  trunc: (s: string, max: number): string => (s.length > max ? s.slice(0, max) : s),
  orNull: (s: string): string | null => (s === '' ? null : s),
  reqHeader(req: ActiveRequest, slot: number): string | null {
    const h = req.loggedRequestHeaders;
    const v = h === null ? undefined : h[slot];
    return v === undefined || v === '' ? null : v;
  },
  respHeader(req: ActiveRequest, slot: number): string | null {
    const h = req.loggedResponseHeaders;
    const v = h === null ? undefined : h[slot];
    return v === undefined || v === '' ? null : v;
  },
  /** A response trailer by lowercased name (own fields only: a trailer named __proto__ is a trailer). */
  trailer(req: ActiveRequest, name: string): string | null {
    const t = req.responseTrailers;
    const v = t === null || !Object.hasOwn(t, name) ? undefined : t[name];
    return v === undefined || v === '' ? null : v;
  },
  floorMs: (ms: number): number | null => (Number.isFinite(ms) ? Math.floor(ms) : null),
  // Envoy's %GRPC_STATUS% prints the code's name; a code outside the table prints as its number.
  grpcStatus: (code: number): string | null => (code < 0 ? null : GRPC_STATUS_NAMES[code] ?? String(code)),
  ms: (from: number, to: number): number | null => (from > 0 && to >= from ? Math.floor(to - from) : null),
  remote(req: ActiveRequest): string | null {
    const a = req.conn.remoteAddress;
    if (a === '') return null;
    const port = req.conn.remotePort;
    return port === 0 ? a : a.includes(':') ? '[' + a + ']:' + port : a + ':' + port;
  },
  upstreamHost(req: ActiveRequest): string | null {
    const e = req.endpoint;
    return e === null ? null : e.hostPort;
  },
  upstreamCluster(req: ActiveRequest): string | null {
    const c = req.cluster;
    return c === null ? null : c.name;
  },
  routeName(req: ActiveRequest): string | null {
    return req.route === null || req.route.route.name === '' ? null : req.route.route.name;
  },
};
type Helpers = typeof HELPERS & {
  readonly times: StartTimeFormat[];
  /** The format's literal byte runs, written by `w.bytes(H.k[i])`. */
  readonly k: Uint8Array[];
  readonly nested: LineRender[];
  /** Per escaping site: the last value and its escape (a cluster, method or user agent repeats request after request). */
  readonly lastIn: string[];
  readonly lastOut: string[];
  escAt(site: number, s: string): string;
};

/** jsonEscape with a one-entry memo per site (a string compare is cheaper than the escape scan). */
function escAt(this: Helpers, site: number, s: string): string {
  if (this.lastIn[site] === s) return this.lastOut[site]!;
  const out = jsonEscape(s);
  this.lastIn[site] = s;
  this.lastOut[site] = out;
  return out;
}
type LineRender = (req: ActiveRequest, t: LogTimes, H: Helpers) => string;
type LineWrite = (req: ActiveRequest, t: LogTimes, H: Helpers, w: LineWriter) => void;

/** Literal runs up to this long are written as constant stores; longer ones are copied (TypedArray#set). */
const MAX_UNROLLED = 64;

/**
 * The statements of a line write. The generated function keeps the buffer, position and limit in locals (b, p,
 * lim): a literal run is one bounds test and constant byte stores (no loop, no load of the literal), and a value is
 * written by a LineWriter method between syncs of w.pos. A run that does not fit sets w.overflow and returns
 * (the sink drops the line); a value that does not fit sets it too and writes nothing.
 */
class WriteBuilder {
  private readonly lines: string[] = [];
  private pending: number[] = [];

  constructor(private readonly literals: Uint8Array[]) {}

  /** Literal text, one byte per code unit (its low byte, as the latin1 writer wrote the old line string). */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) this.pending.push(s.charCodeAt(i) & 0xff);
  }

  /** Literal bytes. */
  bytes(b: Uint8Array): void {
    for (const x of b) this.pending.push(x);
  }

  /** A statement that does not touch the writer (an if over a value, its branches built by other WriteBuilders). */
  stmt(code: string): void {
    this.flush();
    this.lines.push(code);
  }

  /** A LineWriter call (e.g. `w.json(x);`), with the position handed over and back. */
  call(code: string): void {
    this.flush();
    this.lines.push(`w.pos = p; ${code} p = w.pos;`);
  }

  build(): string {
    this.flush();
    return this.lines.join('\n');
  }

  private flush(): void {
    const n = this.pending.length;
    if (n === 0) return;
    this.lines.push(`if (p + ${n} > lim) { w.overflow = true; return; }`);
    if (n > MAX_UNROLLED) {
      this.literals.push(Uint8Array.from(this.pending));
      this.lines.push(`b.set(H.k[${this.literals.length - 1}], p);`);
    } else {
      this.lines.push(this.pending.map((x, i) => `b[p${i === 0 ? '' : ' + ' + i}] = ${x};`).join(' '));
    }
    this.lines.push(`p += ${n};`);
    this.pending = [];
  }
}

/** Request headers the request already holds as fields (no capture needed). */
const REQUEST_FIELDS: Readonly<Record<string, ValueCode>> = {
  ':method': maybe('H.orNull(req.method)', 'string'),
  ':path': always("(req.query === '' ? req.path : req.path + '?' + req.query)", 'string'),
  ':authority': maybe('H.orNull(req.authority)', 'string'),
  host: maybe('H.orNull(req.authority)', 'string'),
  ':scheme': always('req.scheme', 'safe'),
  'x-request-id': maybe('H.orNull(req.requestId)', 'string'),
  'x-forwarded-for': maybe('H.orNull(req.forwardedFor)', 'string'),
};

/** Builds the generated code of one formatter: constants and time formats are collected into H. */
class CodeBuilder {
  readonly times: StartTimeFormat[] = [];
  readonly nested: LineRender[] = [];
  readonly literals: Uint8Array[] = [];
  escapeSites = 0;

  /** An expression escaping `expr` for a JSON string, memoized at its own site. */
  esc(expr: string): string {
    return `H.escAt(${this.escapeSites++}, ${expr})`;
  }

  constructor(private readonly slots: HeaderSlots, private readonly facts: ChainFacts) {}

  value(op: FormatOperator): ValueCode {
    const v = this.rawValue(op, op.arg);
    if (op.maxLength > 0 && v.kind !== 'number') return { expr: `((v = ${v.expr}) === null ? null : H.trunc(v, ${op.maxLength}))`, kind: v.kind, nullable: v.nullable };
    return v;
  }

  private header(op: FormatOperator, name: string): ValueCode {
    if (op.op === 'REQ') {
      // Isthmus does not rewrite the path before logging: x-envoy-original-path is never set (the fallback applies).
      // Own keys only: a header named constructor or __proto__ is a header, not Object.prototype's member.
      const field = name === 'x-envoy-original-path' ? NONE : Object.hasOwn(REQUEST_FIELDS, name) ? REQUEST_FIELDS[name] : undefined;
      return field ?? maybe(`H.reqHeader(req, ${this.slots.requestSlot(name)})`, 'string');
    }
    if (op.op === 'RESP' && !name.startsWith(':')) return maybe(`H.respHeader(req, ${this.slots.responseSlot(name)})`, 'string');
    if (op.op === 'TRAILER' && !name.startsWith(':')) return maybe(`H.trailer(req, ${JSON.stringify(name)})`, 'string');
    return NONE;
  }

  private rawValue(op: FormatOperator, name: string): ValueCode {
    const constant = (s: string): ValueCode => always(JSON.stringify(s), 'string');
    const { localAddress: address, localPort: port } = this.facts;
    switch (op.op) {
      case 'START_TIME':
        this.times.push(new StartTimeFormat(op.arg));
        if (op.arg === '') return { ...always(`H.times[${this.times.length - 1}].render(t.startMs)`, 'safe'), write: 'w.isoTime(t.startMs);' };
        return always(`H.times[${this.times.length - 1}].render(t.startMs)`, 'string');
      case 'REQ':
      case 'RESP':
      case 'TRAILER': {
        const main = this.header(op, name);
        if (op.alt === '') return main;
        const alt = this.header(op, op.alt);
        if (!main.nullable) return main;
        return { expr: `(${main.expr} ?? ${alt.expr})`, kind: main.kind === 'safe' && alt.kind === 'safe' ? 'safe' : 'string', nullable: alt.nullable };
      }
      case 'PROTOCOL': return always("(req.http2Stream ? 'HTTP/2' : req.http11 ? 'HTTP/1.1' : 'HTTP/1.0')", 'safe');
      case 'GRPC_STATUS': return maybe('H.grpcStatus(req.grpcStatus)', 'safe');
      case 'RESPONSE_CODE': return always('req.responseCode', 'number');
      case 'RESPONSE_CODE_DETAILS': this.slots.needMarks(); return maybe('H.details(req)', 'safe');
      case 'RESPONSE_FLAGS': return always('H.flags(req.flags)', 'safe');
      case 'BYTES_RECEIVED': return always('req.bytesReceived', 'number');
      case 'BYTES_SENT': return always('req.bytesSent', 'number');
      case 'DURATION': return maybe('H.floorMs(t.durationMs)', 'number');
      case 'REQUEST_DURATION': this.slots.needMarks(); return maybe('H.ms(req.startMark, req.requestEndMark)', 'number');
      case 'RESPONSE_DURATION': this.slots.needMarks(); return maybe('H.ms(req.startMark, req.responseStartMark)', 'number');
      case 'RESPONSE_TX_DURATION': this.slots.needMarks(); return maybe('H.ms(req.responseStartMark, t.endMark)', 'number');
      case 'UPSTREAM_HOST': return maybe('H.upstreamHost(req)', 'safe'); // an IP and port
      case 'UPSTREAM_CLUSTER':
      case 'UPSTREAM_CLUSTER_RAW': return maybe('H.upstreamCluster(req)', 'string');
      case 'DOWNSTREAM_REMOTE_ADDRESS': return maybe('H.remote(req)', 'safe');
      case 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT': return maybe('H.orNull(req.conn.remoteAddress)', 'safe');
      case 'DOWNSTREAM_LOCAL_ADDRESS': return constant(address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`);
      case 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT': return constant(address);
      case 'DOWNSTREAM_LOCAL_PORT': return always(String(port), 'number');
      case 'DOWNSTREAM_PEER_URI_SAN': return maybe('H.orNull(req.conn.peerUriSan)', 'string');
      case 'DOWNSTREAM_TLS_VERSION': return maybe('H.orNull(req.conn.tlsVersion)', 'string');
      case 'REQUESTED_SERVER_NAME': return maybe('H.orNull(req.conn.requestedServerName)', 'string');
      case 'ROUTE_NAME': return maybe('H.routeName(req)', 'string');
      case 'UPSTREAM_REQUEST_ATTEMPT_COUNT': return always('req.upstreamAttempts', 'number');
      case 'CONNECTION_ID': return always('req.conn.id', 'number');
      case 'HOSTNAME': return constant(HOSTNAME);
      // CONNECTION_TERMINATION_DETAILS, UPSTREAM_LOCAL_ADDRESS, UPSTREAM_TRANSPORT_FAILURE_REASON: not known
      default: return maybe('null', 'safe');
    }
  }

  /**
   * An expression for a JSON string value's parts in TEXT form (the caller JSON-escapes the result): null values
   * as `empty`, peer text with its control chars escaped. Literal text stays the config's own chars: escaping
   * writes each non-ASCII one as \uXXXX, which parses back to it (its UTF-8 bytes read as latin1 did not).
   * A TEXT line's literals are written as UTF-8 bytes by writeText.
   */
  text(parts: readonly FormatPart[], empty: string): string {
    if (parts.length === 0) return "''";
    return parts.map((p) => {
      if (typeof p === 'string') return JSON.stringify(p);
      const v = this.value(p);
      if (!v.nullable) return v.kind === 'number' ? `('' + ${v.expr})` : v.kind === 'safe' ? `(${v.expr})` : `H.textSafe(${v.expr})`;
      const shown = v.kind === 'number' ? "'' + v" : v.kind === 'safe' ? 'v' : 'H.textSafe(v)';
      return `((v = ${v.expr}) === null ? ${JSON.stringify(empty)} : ${shown})`;
    }).join(' + ');
  }

  /** A value `name` (not null) as JSON text. */
  private jsonValue(v: ValueCode, name: string): string {
    return v.kind === 'number' ? name : v.kind === 'safe' ? `'"' + ${name} + '"'` : `'"' + ${this.esc(name)} + '"'`;
  }

  /**
   * An expression for one JSON object under omit_empty_values: a key whose value is null is left out, so commas are
   * placed as the line is built (a string; the rare shape).
   */
  jsonOmittingEmpty(fields: readonly JsonFormatField[]): string {
    const lines = ["let s = '{';", 'let first = true;'];
    for (const f of fields) {
      const key = JSON.stringify('"' + jsonEscape(f.key) + '":');
      const val = f.value;
      if (val.kind === 'format' && val.parts.length === 1 && typeof val.parts[0] !== 'string') {
        const v = this.value(val.parts[0]!);
        lines.push(`v = ${v.expr};`, `if (v !== null) { s += (first ? '' : ',') + ${key} + ${this.jsonValue(v, 'v')}; first = false; }`);
        continue;
      }
      const expr = val.kind === 'literal' ? JSON.stringify(val.json)
        : val.kind === 'object' ? this.jsonOmittingEmpty(val.fields)
        : `'"' + H.esc(${this.text(val.parts, '-')}) + '"'`;
      lines.push(`s += (first ? '' : ',') + ${key} + ${expr};`, 'first = false;');
    }
    lines.push("return s + '}';");
    this.nested.push(this.compile(lines));
    return `H.nested[${this.nested.length - 1}](req, t, H)`;
  }

  /** Statements writing `v` (not null; its value in `e`) as TEXT (json: false) or as a JSON value. */
  private writeValue(out: WriteBuilder, v: ValueCode, e: string, json: boolean): void {
    if (v.kind === 'number') {
      out.call(`w.num(${e});`);
    } else if (!json) {
      out.call(v.kind === 'safe' ? `w.raw(${e});` : `w.text(${e});`);
    } else {
      out.text('"');
      out.call(v.kind === 'safe' ? `w.raw(${e});` : `w.json(${e});`);
      out.text('"');
    }
  }

  /** Statements writing one operator's value, `empty` (literal text) when it has none. */
  private writeOperator(out: WriteBuilder, op: FormatOperator, empty: string, json: boolean): void {
    const v = this.value(op);
    if (!v.nullable) {
      if (v.write !== undefined) {
        if (json) out.text('"');
        out.call(v.write);
        if (json) out.text('"');
      } else {
        this.writeValue(out, v, v.expr, json);
      }
      return;
    }
    const none = new WriteBuilder(this.literals);
    none.text(empty);
    const some = new WriteBuilder(this.literals);
    this.writeValue(some, v, 'v', json);
    out.stmt(`if ((v = ${v.expr}) === null) {\n${none.build()}\n} else {\n${some.build()}\n}`);
  }

  /** Statements writing parts in TEXT form (as text() builds them). */
  writeText(out: WriteBuilder, parts: readonly FormatPart[], empty: string): void {
    for (const p of parts) {
      if (typeof p === 'string') out.bytes(Buffer.from(p, 'utf8'));
      else this.writeOperator(out, p, empty, false);
    }
  }

  /** Statements writing one JSON object without omit_empty_values (a nested object written in place too). */
  writeJson(out: WriteBuilder, fields: readonly JsonFormatField[]): void {
    out.text('{');
    fields.forEach((f, i) => {
      out.text((i === 0 ? '' : ',') + '"' + jsonEscape(f.key) + '":');
      const val = f.value;
      if (val.kind === 'literal') {
        out.text(val.json);
      } else if (val.kind === 'object') {
        this.writeJson(out, val.fields);
      } else if (val.parts.length === 1 && typeof val.parts[0] !== 'string') {
        this.writeOperator(out, val.parts[0]!, 'null', true);
      } else {
        out.text('"');
        out.call(`w.json(${this.text(val.parts, '-')});`);
        out.text('"');
      }
    });
    out.text('}');
  }

  /** The line writer of a format. */
  compileWrite(format: AccessLogFormat): LineWrite {
    const out = new WriteBuilder(this.literals);
    if (format.kind === 'text') {
      this.writeText(out, format.text, format.omitEmptyValues ? '' : '-');
    } else {
      if (format.omitEmptyValues) out.call(`w.raw(${this.jsonOmittingEmpty(format.json)});`);
      else this.writeJson(out, format.json);
      out.text('\n');
    }
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from constants and JSON.stringify'd config text only
    const body = `'use strict';\nlet v;\nconst b = w.buf;\nconst lim = w.limit;\nlet p = w.pos;\n${out.build()}\nw.pos = p;`;
    return new Function('req', 't', 'H', 'w', body) as LineWrite;
  }

  compile(body: readonly string[]): LineRender {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from constants and JSON.stringify'd config text only
    return new Function('req', 't', 'H', `'use strict';\nlet v;\n${body.join('\n')}`) as LineRender;
  }
}

/** Scratch for format(): a line as a string (tests, and anything off the request path). */
const scratch = new LineWriter();
let scratchBuf = Buffer.allocUnsafe(4096);

/** One access log's format, compiled for one filter chain. */
export class LineFormatter {
  private readonly writeLine: LineWrite;
  private readonly helpers: Helpers;

  constructor(format: AccessLogFormat, slots: HeaderSlots, facts: ChainFacts) {
    const b = new CodeBuilder(slots, facts);
    this.writeLine = b.compileWrite(format);
    const sites = Array.from({ length: b.escapeSites }, () => '');
    this.helpers = { ...HELPERS, times: b.times, nested: b.nested, k: b.literals, lastIn: sites, lastOut: [...sites], escAt };
  }

  /** Writes the line at w.pos (a JSON line ends with a newline; a TEXT line is exactly what its format says, as in Envoy). */
  write(req: ActiveRequest, t: LogTimes, w: LineWriter): void {
    this.writeLine(req, t, this.helpers, w);
  }

  /** The line as a string (latin1: one char per byte). */
  format(req: ActiveRequest, t: LogTimes): string {
    for (;;) {
      scratch.reset(scratchBuf, 0, scratchBuf.length);
      this.write(req, t, scratch);
      if (!scratch.overflow) return scratchBuf.latin1Slice(0, scratch.pos);
      scratchBuf = Buffer.allocUnsafe(scratchBuf.length * 4);
    }
  }
}
