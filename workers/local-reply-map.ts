// local_reply_config applied to a reply the proxy makes itself: the first
// mapper whose filter matches may change the status, the body and add
// headers; then the body is rendered through body_format (a mapper's
// body_format_override first). Formats are compiled once per config object.
import type { LocalReplyConfig, LocalReplyFilter, LocalReplyFormat, StringMatch } from '../src/config/bootstrap-types.js';
import { StringMatcher } from '../src/routing/string-matcher.js';
import { parseFormatString, type FormatPiece } from '../src/config/local-reply-format.js';
import { responseFlagsText } from './response-flags.js';

/** What a local reply's format and filters read from the request. */
export interface LocalReplyRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly authority: string;
  readonly http11: boolean;
  readonly flags: number;
}

interface CompiledFormat {
  readonly text: readonly FormatPiece[] | null;
  /** json_format with each string compiled; a value that is one operator alone keeps its type (RESPONSE_CODE a number). */
  readonly json: Readonly<Record<string, unknown>> | null;
  readonly contentType: string;
}

const compiled = new WeakMap<LocalReplyFormat, CompiledFormat>();
const stringMatchers = new WeakMap<StringMatch, StringMatcher>();

function stringMatcher(m: StringMatch): StringMatcher {
  let c = stringMatchers.get(m);
  if (c === undefined) stringMatchers.set(m, (c = new StringMatcher(m)));
  return c;
}
const needsHeadersCache = new WeakMap<LocalReplyConfig, boolean>();

function pieces(text: string): FormatPiece[] {
  const p = parseFormatString(text);
  return typeof p === 'string' ? [{ kind: 'text', text }] : p; // checked when the config was read
}

function compileJson(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') out[key] = pieces(v);
    else if (v !== null && typeof v === 'object') out[key] = compileJson(v as Record<string, unknown>);
    else out[key] = v;
  }
  return out;
}

function compile(format: LocalReplyFormat): CompiledFormat {
  let c = compiled.get(format);
  if (c === undefined) {
    c = { text: format.text === null ? null : pieces(format.text), json: format.json === null ? null : compileJson(format.json), contentType: format.contentType };
    compiled.set(format, c);
  }
  return c;
}

function filterNeedsHeaders(f: LocalReplyFilter): boolean {
  return f.kind === 'header' || f.kind === 'not_health_check' || ((f.kind === 'and' || f.kind === 'or') && f.filters.some(filterNeedsHeaders));
}

function piecesNeedHeaders(value: unknown): boolean {
  if (Array.isArray(value)) return (value as FormatPiece[]).some((p) => p.kind === 'REQ');
  if (value !== null && typeof value === 'object') return Object.values(value).some(piecesNeedHeaders);
  return false;
}

/** Whether the config reads request headers (then the request keeps a copy of them past its head). */
export function localReplyNeedsHeaders(config: LocalReplyConfig): boolean {
  let n = needsHeadersCache.get(config);
  if (n === undefined) {
    const formats = [config.bodyFormat, ...config.mappers.map((m) => m.bodyFormatOverride)].filter((f): f is LocalReplyFormat => f !== null).map(compile);
    n = config.mappers.some((m) => filterNeedsHeaders(m.filter)) || formats.some((f) => piecesNeedHeaders(f.text) || piecesNeedHeaders(f.json));
    needsHeadersCache.set(config, n);
  }
  return n;
}

/** First value of `name` in a name, value, ... list; undefined when absent. */
function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

function requestValue(req: LocalReplyRequest, headers: readonly string[], name: string): string | undefined {
  switch (name) {
    case ':path':
      return req.query === '' ? req.path : req.path + '?' + req.query;
    case ':method':
      return req.method;
    case ':authority':
    case 'host':
      return req.authority;
    default:
      return header(headers, name);
  }
}

function matches(f: LocalReplyFilter, status: number, req: LocalReplyRequest, headers: readonly string[]): boolean {
  switch (f.kind) {
    case 'status':
      return f.op === 'EQ' ? status === f.value : f.op === 'GE' ? status >= f.value : status <= f.value;
    case 'header': {
      // Envoy's semantics: an absent header fails every value matcher, inverted or not.
      const m = f.matcher;
      const value = requestValue(req, headers, m.name);
      if (m.match === null) return (value !== undefined) === m.present !== m.invert;
      if (value === undefined) return false;
      return stringMatcher(m.match).matches(value) !== m.invert;
    }
    case 'flag': {
      if (f.flags.length === 0) return req.flags !== 0;
      const set = responseFlagsText(req.flags).split(',');
      return f.flags.some((flag) => set.includes(flag));
    }
    case 'and':
      return f.filters.every((inner) => matches(inner, status, req, headers));
    case 'or':
      return f.filters.some((inner) => matches(inner, status, req, headers));
    case 'not_health_check':
      return header(headers, 'x-envoy-health-check') === undefined && header(headers, 'user-agent')?.startsWith('Envoy/HC') !== true;
    case 'any':
      return true;
  }
}

/** One operator's value; undefined when it has none (an absent header). */
function operatorValue(p: FormatPiece, status: number, body: string, req: LocalReplyRequest, headers: readonly string[]): string | number | undefined {
  switch (p.kind) {
    case 'text':
      return p.text;
    case 'LOCAL_REPLY_BODY':
      return body;
    case 'RESPONSE_CODE':
      return status;
    case 'RESPONSE_FLAGS':
      return responseFlagsText(req.flags);
    case 'PROTOCOL':
      return req.http11 ? 'HTTP/1.1' : 'HTTP/1.0';
    case 'REQ': {
      let v = requestValue(req, headers, p.header);
      if (v === undefined && p.alt !== null) v = requestValue(req, headers, p.alt);
      if (v !== undefined && p.maxLength !== null) v = v.slice(0, p.maxLength);
      return v;
    }
  }
}

function renderText(list: readonly FormatPiece[], status: number, body: string, req: LocalReplyRequest, headers: readonly string[]): string {
  let s = '';
  for (const p of list) s += operatorValue(p, status, body, req, headers) ?? '-';
  return s;
}

function renderJson(obj: Readonly<Record<string, unknown>>, status: number, body: string, req: LocalReplyRequest, headers: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    if (Array.isArray(v)) {
      const list = v as FormatPiece[];
      // One operator alone keeps its type (a number stays a number); an absent value is null, as Envoy's JSON formatter.
      out[key] = list.length === 1 && list[0]!.kind !== 'text' ? operatorValue(list[0]!, status, body, req, headers) ?? null : renderText(list, status, body, req, headers);
    } else if (v !== null && typeof v === 'object') {
      out[key] = renderJson(v as Record<string, unknown>, status, body, req, headers);
    } else {
      out[key] = v;
    }
  }
  return out;
}

/** The reply after local_reply_config: status, body and extra header lines (content-type included when the body has one). */
export interface MappedReply {
  status: number;
  body: string;
  headers: string;
}

const mapped: MappedReply = { status: 0, body: '', headers: '' };

/** Applies `config` to a local reply of `status` / `body` (content-type text/plain when there is a body); returns a shared result. */
export function mapLocalReply(config: LocalReplyConfig, status: number, body: string, req: LocalReplyRequest, headers: readonly string[]): MappedReply {
  let format = config.bodyFormat;
  let extra = '';
  for (const m of config.mappers) {
    if (!matches(m.filter, status, req, headers)) continue;
    if (m.statusCode !== null) status = m.statusCode;
    if (m.body !== null) body = m.body;
    if (m.bodyFormatOverride !== null) format = m.bodyFormatOverride;
    for (const h of m.headersToAdd) extra += h.key + ': ' + h.value + '\r\n';
    break;
  }
  const r = mapped;
  r.status = status;
  if (format === null) {
    r.body = body;
    r.headers = (body === '' ? '' : 'content-type: text/plain\r\n') + extra;
    return r;
  }
  const c = compile(format);
  r.body = c.text !== null ? renderText(c.text, status, body, req, headers) : JSON.stringify(renderJson(c.json!, status, body, req, headers)) + '\n';
  r.headers = 'content-type: ' + c.contentType + '\r\n' + extra;
  return r;
}
