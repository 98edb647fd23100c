// A request's trace ids as 32-bit words (TraceIds), not hex strings: a new
// trace's ids are words drawn from a pool of crypto random bytes (one
// randomFillSync per 1024 words, no hex encoding, no string per id), and the
// upstream head's B3/traceparent lines write each word as 8 hex digits through
// a digit-pair table (upstream-trace-lines.ts). As strings (32- and 16-digit
// slices of a hex pool, written char by char), a new trace's ids and lines were
// ~3,300 instructions; as words ~2,650 (callgrind, the two steps alone in a
// loop). The proxy makes no id string: a sampled span's JSON writes the words
// too (only ids that arrive in a request's headers are strings, parsed to words).
import { randomFillSync } from 'node:crypto';
import type { Span } from './span.js';
import type { LinesTemplate } from './upstream-trace-lines.js';

const POOL_WORDS = 1024;
// Signed: a word read from an Int32Array is a small integer in a field, where an unsigned one over 2^31 would be a
// heap number (a box per id word, per request).
const pool = new Int32Array(POOL_WORDS);
let next = POOL_WORDS;

/** takes nothing; returns 32 random bits as a signed 32-bit integer. */
function randomWord(): number {
  if (next === POOL_WORDS) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++]!;
}

/** Lowercase hex digits by nibble. */
export const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * A traced request's upstream context (ActiveRequest.trace): its TRACE_* bits, its ids and its span when sampled.
 * Every id is held as 32-bit words (signed, so each field holds a small integer, not a heap number), high word
 * first; a 64-bit trace id has traceHigh0 = traceHigh1 = 0 and bits128 false (as Zipkin, a 128-bit id whose high
 * half is zero is that id). Objects are reused (WorkerTracing's pool), so a traced request allocates nothing for
 * its context: every field is set by startRequestTrace.
 */
export class TraceIds {
  /** TRACE_* bits (upstream-trace-lines.ts); 0 = no lines. */
  bits = 0;
  /** The sampled request's span until it ends (null: unsampled). */
  span: Span | null = null;
  /** The upstream lines' template for this shape (upstream-trace-lines.ts), chosen once the ids are set. */
  template: LinesTemplate | null = null;
  bits128 = false;
  traceHigh0 = 0;
  traceHigh1 = 0;
  trace0 = 0;
  trace1 = 0;
  /** The id the upstream sees as its parent span. */
  sent0 = 0;
  sent1 = 0;
  /** That span's parent; hasParent false = a root span (no x-b3-parentspanid). */
  hasParent = false;
  parent0 = 0;
  parent1 = 0;
}

/** takes ids; sets a new random trace id (64 or 128 bits, neither 64-bit half all zeros). */
export function newTraceId(ids: TraceIds, bits128: boolean): void {
  ids.bits128 = bits128;
  let a = 0;
  let b = 0;
  if (bits128) {
    do {
      a = randomWord();
      b = randomWord();
    } while ((a | b) === 0);
  }
  ids.traceHigh0 = a;
  ids.traceHigh1 = b;
  do {
    a = randomWord();
    b = randomWord();
  } while ((a | b) === 0);
  ids.trace0 = a;
  ids.trace1 = b;
}

/** takes ids; sets a new random 64-bit sent id (never all zeros). */
export function newSentId(ids: TraceIds): void {
  let a = 0;
  let b = 0;
  do {
    a = randomWord();
    b = randomWord();
  } while ((a | b) === 0);
  ids.sent0 = a;
  ids.sent1 = b;
}

/** What holds a trace id as words: a request's TraceIds, and the Span copied from it. */
export interface TraceIdWords {
  bits128: boolean;
  traceHigh0: number;
  traceHigh1: number;
  trace0: number;
  trace1: number;
}

/** takes a holder and a checked 16- or 32-digit hex trace id; sets the holder's words from it. */
export function setTraceIdFromHex(dst: TraceIdWords, traceId: string): void {
  const high = traceId.length === 32;
  dst.bits128 = high;
  dst.traceHigh0 = high ? hexWord(traceId, 0) : 0;
  dst.traceHigh1 = high ? hexWord(traceId, 8) : 0;
  dst.trace0 = hexWord(traceId, high ? 16 : 0);
  dst.trace1 = hexWord(traceId, high ? 24 : 8);
}

/** takes a string of lowercase or uppercase hex digits (checked by the caller) and a position; returns the 8 digits there as a signed word. */
export function hexWord(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = s.charCodeAt(i);
    v = (v << 4) | (c <= 57 ? c - 48 : (c | 32) - 87);
  }
  return v | 0;
}

/** The two lowercase hex digits of each byte value, the first in the low byte: one table load a byte of a word. */
const HEX_PAIRS = new Uint16Array(256);
for (let b = 0; b < 256; b++) HEX_PAIRS[b] = HEX_DIGITS[b >> 4]! | (HEX_DIGITS[b & 15]! << 8);

/** takes a buffer, a position and a word; writes its 8 lowercase hex digits there (a digit pair a byte of the word). */
export function writeHexWord(buf: Buffer, at: number, word: number): void {
  let d = HEX_PAIRS[word >>> 24]!;
  buf[at] = d;
  buf[at + 1] = d >> 8;
  d = HEX_PAIRS[(word >>> 16) & 255]!;
  buf[at + 2] = d;
  buf[at + 3] = d >> 8;
  d = HEX_PAIRS[(word >>> 8) & 255]!;
  buf[at + 4] = d;
  buf[at + 5] = d >> 8;
  d = HEX_PAIRS[word & 255]!;
  buf[at + 6] = d;
  buf[at + 7] = d >> 8;
}

/** takes a buffer, two positions and a word; writes its 8 lowercase hex digits at both (one table load a byte). */
export function writeHexWord2(buf: Buffer, at: number, at2: number, word: number): void {
  let d = HEX_PAIRS[word >>> 24]!;
  buf[at] = buf[at2] = d;
  buf[at + 1] = buf[at2 + 1] = d >> 8;
  d = HEX_PAIRS[(word >>> 16) & 255]!;
  buf[at + 2] = buf[at2 + 2] = d;
  buf[at + 3] = buf[at2 + 3] = d >> 8;
  d = HEX_PAIRS[(word >>> 8) & 255]!;
  buf[at + 4] = buf[at2 + 4] = d;
  buf[at + 5] = buf[at2 + 5] = d >> 8;
  d = HEX_PAIRS[word & 255]!;
  buf[at + 6] = buf[at2 + 6] = d;
  buf[at + 7] = buf[at2 + 7] = d >> 8;
}
