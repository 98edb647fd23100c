// The trace context lines a request's upstream head carries (B3 multi-header
// and W3C traceparent), written straight into the head as it is encoded
// (message-heads.ts) from the request's id words (trace-ids.ts), so no header
// string is joined per request (at 100% sampling the joined lines, ~200 bytes
// flattened from a dozen cons strings, were a share of the young garbage
// `bench tracing` measured) and no id is a string an unsampled request makes.
import { writeHexWord, writeHexWord2, type TraceIds } from './trace-ids.js';

/** TraceIds.bits: there are lines to write. */
export const TRACE_LINES = 1;
/** The context is sampled (x-b3-sampled: 1, traceparent flags 01). */
export const TRACE_SAMPLED = 2;
/** The caller asked for debug (x-b3-flags: 1), passed on. */
export const TRACE_DEBUG = 4;
/** The request carried trace header names of its own: they are removed from the head (replaced by these lines). */
export const TRACE_INCOMING = 8;

/** What the lines are made of: the request's context (ActiveRequest.trace). */
export type UpstreamTraceContext = TraceIds;

const TRACE_ID = 'x-b3-traceid: ';
const SPAN_ID = '\r\nx-b3-spanid: ';
const PARENT_ID = '\r\nx-b3-parentspanid: ';
const SAMPLED = '\r\nx-b3-sampled: ';
const FLAGS_1 = '\r\nx-b3-flags: 1';
const TRACEPARENT = '\r\ntraceparent: 00-';
const ZERO_HIGH = '0000000000000000';
const ID64 = 16;
const ID128 = 32;

/**
 * The lines of every shape (a 64- or 128-bit trace id, with or without a parent, with or without the debug flag) as
 * templates whose fixed text is copied in one piece and whose ids and sampled digits are then written into their
 * places: byte-by-byte writing of all ~200 bytes cost about as much as a span's whole JSON (the proxy's CPU profile
 * at 100%). Every id fits its place: trace ids are 2 or 4 words, span ids 2, each word 8 hex digits.
 */
export class LinesTemplate {
  readonly bytes: Buffer;
  /** bytes.length, read without a call into the Buffer's getter. */
  readonly length: number;
  readonly traceIdAt: number[] = [];
  readonly spanIdAt: number[] = [];
  readonly parentAt: number;
  readonly sampledAt: number;
  readonly flagsAt: number;

  constructor(withParent: boolean, traceIdLength: number, debug: boolean) {
    const X = 'x'.repeat(ID64);
    const T = 'x'.repeat(traceIdLength);
    let text = TRACE_ID;
    this.traceIdAt.push(text.length);
    text += T + SPAN_ID;
    this.spanIdAt.push(text.length);
    text += X;
    this.parentAt = -1;
    if (withParent) {
      text += PARENT_ID;
      this.parentAt = text.length;
      text += X;
    }
    text += SAMPLED;
    this.sampledAt = text.length;
    text += '0' + (debug ? FLAGS_1 : '') + TRACEPARENT + (traceIdLength === ID64 ? ZERO_HIGH : '');
    this.traceIdAt.push(text.length);
    text += T + '-';
    this.spanIdAt.push(text.length);
    text += X + '-0';
    this.flagsAt = text.length;
    text += '0\r\n';
    this.bytes = Buffer.from(text, 'latin1');
    this.length = this.bytes.length;
  }
}

/** By [128-bit trace id][has a parent][debug]. */
const TEMPLATES = [ID64, ID128].map((id) => [false, true].map((parent) => [false, true].map((debug) => new LinesTemplate(parent, id, debug))));

/** takes a context whose ids and bits are set; returns the template of its shape (startRequestTrace keeps it in `template`). */
export function linesTemplateFor(t: TraceIds): LinesTemplate {
  return TEMPLATES[t.bits128 ? 1 : 0]![t.hasParent ? 1 : 0]![(t.bits & TRACE_DEBUG) === 0 ? 0 : 1]!;
}

/** takes the context; returns the bytes writeUpstreamTraceLines writes for it. */
export function upstreamTraceLinesLength(t: UpstreamTraceContext): number {
  return (t.bits & TRACE_LINES) === 0 ? 0 : (t.template ?? linesTemplateFor(t)).length;
}

/**
 * takes a head with upstreamTraceLinesLength bytes free at pos, and the context; writes its lines (x-b3-traceid,
 * x-b3-spanid, x-b3-parentspanid when there is a parent, x-b3-sampled, x-b3-flags when debug, traceparent with a
 * 64-bit trace id widened to 128 bits); returns the position after them.
 */
export function writeUpstreamTraceLines(head: Buffer, pos: number, t: UpstreamTraceContext): number {
  const bits = t.bits;
  if ((bits & TRACE_LINES) === 0) return pos;
  const tpl = t.template ?? linesTemplateFor(t);
  head.set(tpl.bytes, pos);
  // Each id written in both its places (B3 and traceparent) from one table load a byte.
  let at = pos + tpl.traceIdAt[0]!;
  let at2 = pos + tpl.traceIdAt[1]!;
  if (t.bits128) {
    writeHexWord2(head, at, at2, t.traceHigh0);
    writeHexWord2(head, at + 8, at2 + 8, t.traceHigh1);
    at += 16;
    at2 += 16;
  }
  writeHexWord2(head, at, at2, t.trace0);
  writeHexWord2(head, at + 8, at2 + 8, t.trace1);
  at = pos + tpl.spanIdAt[0]!;
  at2 = pos + tpl.spanIdAt[1]!;
  writeHexWord2(head, at, at2, t.sent0);
  writeHexWord2(head, at + 8, at2 + 8, t.sent1);
  if (tpl.parentAt >= 0) {
    writeHexWord(head, pos + tpl.parentAt, t.parent0);
    writeHexWord(head, pos + tpl.parentAt + 8, t.parent1);
  }
  if ((bits & TRACE_SAMPLED) !== 0) head[pos + tpl.sampledAt] = head[pos + tpl.flagsAt] = 0x31; // '1'
  return pos + tpl.bytes.length;
}
