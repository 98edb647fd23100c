// The trailer section of an HTTP/1.1 chunked body (a client's request or an
// upstream's response), collected as the native decoder passes over it and
// read as fields once the body ends, so it can be forwarded: to an HTTP/2
// peer as trailers, to an HTTP/1.1 one as a chunked trailer section. The
// decoder has already checked every line (token names, field-value bytes, no
// obs-fold) and bounded the section at CHUNKED.MAX_TRAILER_BYTES (60 KiB, as
// Envoy's default max_request_headers_kb): a larger one is rejected, never
// forwarded in part; so is one with more fields than a head may have
// (max_headers_count, as Envoy's codec counts trailers). Fields that may not
// be trailers (RFC 9110 6.5.1) are dropped here (allowedTrailers).
import { Buffer } from 'node:buffer';
import { CHUNKED } from '../src/native.js';
import { allowedTrailers } from './http2/h1-trailer-block.js';
import { parseLimits } from './parse-scratch.js';

/** take()'s answer for a section with more fields than parseLimits.maxHeaders: the message is refused (a request: 431). */
export const TOO_MANY_TRAILERS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** The bytes of an empty trailer section: the blank line after the last chunk. */
const EMPTY_SECTION = 2;

/** takes the decoder's state after a call; true when that call passed over trailer bytes worth keeping (not just an empty section's end). */
export function passedTrailerBytes(state: Float64Array): boolean {
  const n = state[CHUNKED.CONSUMED]! - state[CHUNKED.TRAILER_START]!;
  return n > 0 && (n !== EMPTY_SECTION || state[CHUNKED.PHASE] !== CHUNKED.DONE_PHASE);
}

export class ChunkedTrailerSection {
  /**
   * The section's bytes so far (the read buffer is reused), in one buffer grown by doubling up to
   * MAX_TRAILER_BYTES (the decoder's bound): a peer sending it one byte per read costs its size, not a Buffer per read.
   */
  private data: Buffer | null = null;
  private bytes = 0;

  /**
   * takes the read buffer and the decoder's state after a call that did not fail; keeps that call's trailer bytes
   * (buf[TRAILER_START, CONSUMED)). Callers skip reads where passedTrailerBytes is false (most bodies: no trailers).
   * Returns false when the section has passed parseLimits.maxHeadBytes (--max-head-bytes, held to trailers as to a
   * head, as Envoy does; the decoder's own bound is 60 KiB): the message is refused.
   */
  collect(buf: Buffer, state: Float64Array): boolean {
    if (state[CHUNKED.TRAILER_BYTES]! > parseLimits.maxHeadBytes) return false;
    const from = state[CHUNKED.TRAILER_START]!;
    const to = state[CHUNKED.CONSUMED]!;
    if (to <= from) return true;
    const need = this.bytes + to - from;
    let data = this.data;
    if (data === null || need > data.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(CHUNKED.MAX_TRAILER_BYTES, 2 * (data?.length ?? 128))));
      if (data !== null) data.copy(grown, 0, 0, this.bytes);
      this.data = data = grown;
    }
    buf.copy(data, this.bytes, from, to);
    this.bytes = need;
    return true;
  }

  /** Forgets the bytes collected so far without reading them (a failed exchange's leftovers). */
  clear(): void {
    this.data = null;
    this.bytes = 0;
  }

  /**
   * returns the section's fields that may be forwarded (names lowercased, repeats joined by ", "), null for none, or
   * TOO_MANY_TRAILERS (compare by identity) past parseLimits.maxHeaders fields; then forgets them.
   */
  take(): Record<string, string> | null {
    const data = this.data;
    if (data === null) return null;
    this.data = null;
    const text = data.toString('latin1', 0, this.bytes);
    this.bytes = 0;
    const fields = Object.create(null) as Record<string, string>;
    let count = 0;
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue; // the blank line that ends the section
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      fields[name] = fields[name] === undefined ? value : fields[name] + ', ' + value;
      if (++count > parseLimits.maxHeaders) return TOO_MANY_TRAILERS;
    }
    if (count === 0) return null;
    const allowed = allowedTrailers(fields);
    for (const _ in allowed) return allowed;
    return null;
  }
}
