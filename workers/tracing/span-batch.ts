// One report's body, Zipkin v2 JSON bytes (`[span,span,...]`), written as
// each span ends (span-json.ts, no string made). A span queued as an object
// lived up to FLUSH_INTERVAL_MS, long enough to be promoted to V8's old
// generation with all its strings and marked there (the profile of `bench
// tracing` at 100%: GC time tripled); written at once, the Span dies young and
// the queue is bytes outside the JS heap.

import type { Span } from './span.js';
import { spanJsonBound, writeSpanJson } from './span-json.js';

const INITIAL_BYTES = 64 * 1024;
/**
 * Room kept ahead of the body for the report's HTTP head, written there when the batch goes out (request()), so a
 * report is one buffer and one write: no head string encoded, no cork and second write per report.
 */
export const HEAD_ROOM = 512;
const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

export class SpanBatch {
  private buf: Buffer;
  /** End of the bytes written (the body starts at HEAD_ROOM with its '['). */
  private length = HEAD_ROOM + 1;
  /** Span objects appended (each reports one or two spans). */
  entries = 0;
  /** Zipkin spans in the body. */
  spans = 0;

  /** Takes a sent batch's buffer to reuse, if the reporter has one. */
  constructor(reuse?: Buffer) {
    this.buf = reuse ?? Buffer.allocUnsafe(INITIAL_BYTES);
    this.buf[HEAD_ROOM] = OPEN_BRACKET;
  }

  /** takes nothing; returns the batch's buffer for the next batch (this batch is done with it). */
  release(): Buffer {
    return this.buf;
  }

  /** takes a span and its worker's localEndpoint and node_id JSON; appends the span's JSON (span-json.ts). */
  appendSpan(span: Span, local: Buffer, nodeIdJson: Buffer): void {
    // +2 for the comma and the closing bracket.
    const need = this.length + spanJsonBound(span, local, nodeIdJson) + 2;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, this.length);
      this.buf = grown;
    }
    if (this.entries > 0) this.buf[this.length++] = COMMA;
    this.length = writeSpanJson(this.buf, this.length, span, local, nodeIdJson);
    this.entries++;
    this.spans += span.count;
  }

  /** takes the byte length (bytes) and span count before the last append; takes that append back (the queue's byte bound). */
  undoLast(bytesBefore: number, spanCount: number): void {
    this.length = HEAD_ROOM + bytesBefore;
    this.entries--;
    this.spans -= spanCount;
  }

  /** Bytes of the body so far. */
  get bytes(): number {
    return this.length - HEAD_ROOM;
  }

  /** takes nothing; returns the report body (a view of the batch's bytes, closed with ']'). */
  payload(): Buffer {
    this.buf[this.length] = CLOSE_BRACKET;
    return this.buf.subarray(HEAD_ROOM, this.length + 1);
  }

  /**
   * takes the head's fixed part up to the Content-Length value (`POST ... content-length: `); returns the whole
   * request (that part, the body's length, a blank line, the body) as one view of the batch's bytes, or null when the
   * fixed part does not fit the room kept for it (the caller then sends head and body apart).
   */
  request(headStart: Buffer): Buffer | null {
    const body = this.payload();
    const digits = String(body.length);
    const headLength = headStart.length + digits.length + 4;
    if (headLength > HEAD_ROOM) return null;
    let p = HEAD_ROOM - headLength;
    const start = p;
    p += headStart.copy(this.buf, p);
    p += this.buf.latin1Write(digits, p);
    this.buf[p++] = 0x0d;
    this.buf[p++] = 0x0a;
    this.buf[p++] = 0x0d;
    this.buf[p++] = 0x0a;
    return this.buf.subarray(start, this.length + 1);
  }
}
