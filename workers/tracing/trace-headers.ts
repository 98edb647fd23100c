// The trace context a request arrives with: B3 (multi-header x-b3-* and the
// single `b3` header) and W3C `traceparent`, plus x-client-trace-id (which
// forces sampling). Every value comes from a peer that may be hostile: a value
// that is not exactly the expected shape (length, lowercase hex, not all
// zeros) is ignored as if absent, so a bad header starts a new trace and
// never fails the request. B3 wins over traceparent when both are valid (the
// Zipkin tracer is B3-native, as Envoy's is).
import { HEAD } from '../../src/native.js';
import { headerNameIs } from '../header-block.js';

/** Sampling state: not said, said no, said yes (x-b3-sampled: 1, x-b3-flags: 1, b3 "1"/"d", traceparent flags 01). */
export const SAMPLED_UNSET = -1;
export const SAMPLED_NO = 0;
export const SAMPLED_YES = 1;

/** A parsed incoming context; traceId '' = no ids (a sampling state alone may still be set). */
export interface TraceContext {
  traceId: string;
  spanId: string;
  parentId: string;
  sampled: number;
}

/** Header names the proxy replaces with its own context on the way upstream (tracestate passes through). */
export const TRACE_HEADER_NAMES: readonly string[] = [
  'traceparent', 'b3', 'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags',
];

/** Longest value read (a future traceparent version may be longer than 55; more is not a trace header a peer needs). */
const MAX_VALUE = 512;

/** True when s is `len` hex digits, lowercase only when `lowerOnly`, not all zeros. */
function isHexId(s: string, len: number, lowerOnly: boolean): boolean {
  if (s.length !== len) return false;
  let nonZero = false;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (c !== 48) nonZero = true;
    } else if ((c >= 97 && c <= 102) || (!lowerOnly && c >= 65 && c <= 70)) {
      nonZero = true;
    } else {
      return false;
    }
  }
  return nonZero;
}

/** A 128-bit id whose high half is zero is the 64-bit id (Zipkin treats them as one trace). */
function normalizeTraceId(id: string): string {
  const lower = id.toLowerCase();
  return lower.length === 32 && lower.startsWith('0000000000000000') ? lower.slice(16) : lower;
}

function validTraceId(s: string, lowerOnly: boolean): boolean {
  return isHexId(s, 16, lowerOnly) || isHexId(s, 32, lowerOnly);
}

function clear(ctx: TraceContext): void {
  ctx.traceId = '';
  ctx.spanId = '';
  ctx.parentId = '';
  ctx.sampled = SAMPLED_UNSET;
}

/** B3 sampling state: "1"/"d"/"true" yes, "0"/"false" no, other unset. */
function b3Sampled(s: string): number {
  if (s === '1' || s === 'd' || s === 'true') return SAMPLED_YES;
  if (s === '0' || s === 'false') return SAMPLED_NO;
  return SAMPLED_UNSET;
}

/**
 * B3 multi-header values ('' = absent) into ctx; false when they carry no usable ids (ctx.sampled may still be
 * set from x-b3-sampled / x-b3-flags). x-b3-flags: 1 (debug) means sampled.
 */
export function parseB3Multi(traceId: string, spanId: string, parentId: string, sampled: string, flags: string, ctx: TraceContext): boolean {
  clear(ctx);
  ctx.sampled = flags === '1' ? SAMPLED_YES : b3Sampled(sampled);
  if (!validTraceId(traceId, false) || !isHexId(spanId, 16, false)) return false;
  if (parentId !== '' && !isHexId(parentId, 16, false)) return false;
  ctx.traceId = normalizeTraceId(traceId);
  ctx.spanId = spanId.toLowerCase();
  ctx.parentId = parentId.toLowerCase();
  return true;
}

/** `b3: {traceid}-{spanid}[-{sampling}[-{parentspanid}]]` or `b3: {sampling}` into ctx; false when it carries no usable ids. */
export function parseB3Single(value: string, ctx: TraceContext): boolean {
  clear(ctx);
  if (value.length > MAX_VALUE) return false;
  if (value.length === 1) {
    ctx.sampled = b3Sampled(value);
    return false;
  }
  const parts = value.split('-', 5);
  if (parts.length < 2 || parts.length > 4) return false;
  const [traceId, spanId, sampling, parentId] = parts as [string, string, string | undefined, string | undefined];
  if (!validTraceId(traceId, false) || !isHexId(spanId, 16, false)) return false;
  let sampled = SAMPLED_UNSET;
  if (sampling !== undefined) {
    sampled = b3Sampled(sampling);
    if (sampled === SAMPLED_UNSET || sampling === 'true' || sampling === 'false') return false;
  }
  if (parentId !== undefined && !isHexId(parentId, 16, false)) return false;
  ctx.traceId = normalizeTraceId(traceId);
  ctx.spanId = spanId.toLowerCase();
  ctx.parentId = parentId === undefined ? '' : parentId.toLowerCase();
  ctx.sampled = sampled;
  return true;
}

/** W3C `traceparent: {version}-{trace-id}-{parent-id}-{flags}` (lowercase hex; version ff invalid) into ctx. */
export function parseTraceparent(value: string, ctx: TraceContext): boolean {
  clear(ctx);
  if (value.length < 55 || value.length > MAX_VALUE) return false;
  const version = value.slice(0, 2);
  if (!isHexId(version, 2, true) && version !== '00') return false;
  if (version === 'ff') return false;
  // Version 00 is exactly 55 characters; a later version may append fields after a '-'.
  if (version === '00' ? value.length !== 55 : value.length > 55 && value.charCodeAt(55) !== 45) return false;
  if (value.charCodeAt(2) !== 45 || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return false;
  const traceId = value.slice(3, 35);
  const spanId = value.slice(36, 52);
  const flags = value.slice(53, 55);
  if (!isHexId(traceId, 32, true) || !isHexId(spanId, 16, true)) return false;
  const f = flags === '00' ? 0 : isHexId(flags, 2, true) ? parseInt(flags, 16) : -1;
  if (f < 0) return false;
  ctx.traceId = normalizeTraceId(traceId);
  ctx.spanId = spanId;
  ctx.sampled = (f & 1) === 1 ? SAMPLED_YES : SAMPLED_NO;
  return true;
}

/** What one pass over the request's headers found (values only of the trace headers; '' = absent). */
export class IncomingTraceHeaders {
  traceparent = '';
  b3 = '';
  b3TraceId = '';
  b3SpanId = '';
  b3ParentId = '';
  b3Sampled = '';
  b3Flags = '';
  /** The b3 header's sampling state was 'd' (debug), set by decode(): passed on as x-b3-flags: 1, B3's multi-header form. */
  b3Debug = false;
  clientTraceId = false;

  /** Some trace header name was present, usable or not (the upstream head must then drop them: TRACE_HEADER_NAMES). */
  present = false;
  /**
   * The head slot (its base in `out`) of the first user-agent header, -1 = none: found in this hot scan so a sampled
   * request's span reads its value without a search of its own (at 1% sampling that search ran as cold code).
   */
  userAgentSlot = -1;

  /** Reads the trace headers of the parsed head in buf/out (a first repeat wins; names are lowercase from the parser). */
  read(buf: Buffer, out: Uint32Array): void {
    // Values are cleared only after a request that had one (most have none: no stores to undo).
    if (this.present) {
      this.traceparent = this.b3 = this.b3TraceId = this.b3SpanId = this.b3ParentId = this.b3Sampled = this.b3Flags = '';
      this.b3Debug = false;
    }
    this.clientTraceId = false;
    this.present = false;
    this.userAgentSlot = -1;
    const count = out[HEAD.HEADER_COUNT]!;
    for (let i = 0; i < count; i++) {
      const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
      const start = out[base + HEAD.NAME_START]!;
      const len = out[base + HEAD.NAME_END]! - start;
      const first = buf[start];
      // Cheap rejects first: every trace header starts with 'x', 't' or 'b' and is 2 to 17 bytes long (user-agent: 'u', 10).
      if (len < 2 || len > 17 || (first !== 120 && first !== 116 && first !== 98)) {
        if (first === 117 && len === 10 && this.userAgentSlot < 0 && headerNameIs(buf, out, base, 'user-agent')) this.userAgentSlot = base;
        continue;
      }
      if (first === 120) {
        if (len === 17 && headerNameIs(buf, out, base, 'x-client-trace-id')) {
          this.clientTraceId = out[base + HEAD.VALUE_END]! > out[base + HEAD.VALUE_START]!;
          continue;
        }
        if (len < 10 || buf[start + 1] !== 45 || buf[start + 2] !== 98 || buf[start + 3] !== 51) continue; // "x-b3"
        if (len === 12 && headerNameIs(buf, out, base, 'x-b3-traceid')) {
          if (this.b3TraceId === '') this.b3TraceId = value(buf, out, base);
        } else if (len === 11 && headerNameIs(buf, out, base, 'x-b3-spanid')) {
          if (this.b3SpanId === '') this.b3SpanId = value(buf, out, base);
        } else if (len === 17 && headerNameIs(buf, out, base, 'x-b3-parentspanid')) {
          if (this.b3ParentId === '') this.b3ParentId = value(buf, out, base);
        } else if (len === 12 && headerNameIs(buf, out, base, 'x-b3-sampled')) {
          if (this.b3Sampled === '') this.b3Sampled = value(buf, out, base);
        } else if (len === 10 && headerNameIs(buf, out, base, 'x-b3-flags')) {
          if (this.b3Flags === '') this.b3Flags = value(buf, out, base);
        } else {
          continue;
        }
        this.present = true;
      } else if (first === 116) {
        if (len === 11 && headerNameIs(buf, out, base, 'traceparent')) {
          this.present = true;
          if (this.traceparent === '') this.traceparent = value(buf, out, base);
        }
      } else if (len === 2 && buf[start + 1] === 51) {
        this.present = true;
        if (this.b3 === '') this.b3 = value(buf, out, base);
      }
    }
  }

  /** True when any header that carries ids or a sampling state was present. */
  get any(): boolean {
    return this.traceparent !== '' || this.b3 !== '' || this.b3TraceId !== '' || this.b3Sampled !== '' || this.b3Flags !== '';
  }

  /**
   * The incoming context into ctx, B3 first (single header, then multi), then traceparent; false when none carries
   * usable ids (ctx.sampled may still hold a sampling state a B3 header said on its own).
   */
  decode(ctx: TraceContext): boolean {
    let sampled = SAMPLED_UNSET;
    if (this.b3 !== '') {
      const parsed = parseB3Single(this.b3, ctx);
      // Parsed, the value is `{traceid}-{spanid}[-{state}[-{parentspanid}]]` with a 16-digit span id: the state, when
      // there is one, is 18 chars after the first '-'. Unparsed, only the lone state `d` counts.
      this.b3Debug = parsed ? this.b3.charCodeAt(this.b3.indexOf('-') + 18) === 100 : this.b3 === 'd';
      if (parsed) return true;
      sampled = ctx.sampled;
    }
    if (this.b3TraceId !== '' || this.b3Sampled !== '' || this.b3Flags !== '') {
      if (parseB3Multi(this.b3TraceId, this.b3SpanId, this.b3ParentId, this.b3Sampled, this.b3Flags, ctx)) return true;
      if (sampled === SAMPLED_UNSET) sampled = ctx.sampled;
    }
    if (this.traceparent !== '' && parseTraceparent(this.traceparent, ctx)) {
      if (sampled !== SAMPLED_UNSET) ctx.sampled = sampled;
      return true;
    }
    clear(ctx);
    ctx.sampled = sampled;
    return false;
  }
}

function value(buf: Buffer, out: Uint32Array, base: number): string {
  const start = out[base + HEAD.VALUE_START]!;
  const end = out[base + HEAD.VALUE_END]!;
  return end - start > MAX_VALUE ? '\u0000' : buf.latin1Slice(start, end); // too long: kept as a value no parser accepts
}
