// Writes an access-log line's bytes straight into a sink's batch buffer (the
// style of workers/tracing/span-json.ts): no line string, no concatenation
// chain, no number-to-string per field. Building the line as a string made
// about 2 KB of garbage per request (a cons string per `+`, the flattened
// copy, the digits), which under load was most of the log's cost (scavenges).
//
// Bytes are what a latin1 write of the old string gave: the low byte of each
// UTF-16 code unit. The writer is bounded: a write that would pass `limit`
// sets `overflow` and writes nothing; the sink then drops the whole line.
// A format's literal text is not written through it: the generated line
// writer stores those bytes itself (access-log-format.ts, WriteBuilder).

import { isoPrefixBytes, isoSecondPrefix } from './access-log-line.js';

const HEX = '0123456789abcdef';
const SHORT_ESCAPE = new Uint8Array(128);
SHORT_ESCAPE[0x22] = 0x22; // \"
SHORT_ESCAPE[0x5c] = 0x5c; // \\
SHORT_ESCAPE[0x08] = 0x62; // \b
SHORT_ESCAPE[0x0c] = 0x66; // \f
SHORT_ESCAPE[0x0a] = 0x6e; // \n
SHORT_ESCAPE[0x0d] = 0x72; // \r
SHORT_ESCAPE[0x09] = 0x74; // \t

export class LineWriter {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  limit = 0;
  overflow = false;

  /** Starts a line at `pos` of `buf`; it may not reach past `limit` (<= buf.length). */
  reset(buf: Uint8Array, pos: number, limit: number): void {
    this.buf = buf;
    this.pos = pos;
    this.limit = limit;
    this.overflow = false;
  }

  /** A string as it is, one byte per code unit (its low byte, as latin1 writes it). */
  raw(s: string): void {
    const n = s.length;
    let pos = this.pos;
    if (pos + n > this.limit) {
      this.overflow = true;
      return;
    }
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i) & 0xff;
    this.pos = pos;
  }

  /** The contents of a JSON string for s, printable ASCII only (jsonEscape's output, written as it is made). */
  json(s: string): void {
    const n = s.length;
    let pos = this.pos;
    const limit = this.limit;
    if (pos + n > limit) {
      this.overflow = true;
      return;
    }
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
        buf[pos++] = c;
        continue;
      }
      const short = c < 0x80 ? SHORT_ESCAPE[c]! : 0;
      // This char's escape and one byte for each char still to come.
      if (pos + (short !== 0 ? 2 : 6) + (n - i - 1) > limit) {
        this.overflow = true;
        return;
      }
      buf[pos++] = 0x5c;
      if (short !== 0) {
        buf[pos++] = short;
      } else {
        buf[pos++] = 0x75; // u
        buf[pos++] = HEX.charCodeAt((c >> 12) & 15);
        buf[pos++] = HEX.charCodeAt((c >> 8) & 15);
        buf[pos++] = HEX.charCodeAt((c >> 4) & 15);
        buf[pos++] = HEX.charCodeAt(c & 15);
      }
    }
    this.pos = pos;
  }

  /** A peer's text in a TEXT line: control characters (CR, LF, ...) as \xNN, the rest one byte per code unit. */
  text(s: string): void {
    const n = s.length;
    let pos = this.pos;
    const limit = this.limit;
    if (pos + n > limit) {
      this.overflow = true;
      return;
    }
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c !== 0x7f) {
        buf[pos++] = c & 0xff;
        continue;
      }
      if (pos + 4 + (n - i - 1) > limit) {
        this.overflow = true;
        return;
      }
      buf[pos++] = 0x5c;
      buf[pos++] = 0x78; // x
      buf[pos++] = HEX.charCodeAt(c >> 4);
      buf[pos++] = HEX.charCodeAt(c & 15);
    }
    this.pos = pos;
  }

  /** A number as `'' + n` writes it (digits directly for the everyday non-negative integer). */
  num(n: number): void {
    if (!(n >= 0 && n <= 0xffffffff && Math.floor(n) === n)) {
      this.raw('' + n);
      return;
    }
    let digits = 1;
    for (let p = 10; p <= n; p *= 10) digits++;
    let pos = this.pos + digits;
    if (pos > this.limit) {
      this.overflow = true;
      return;
    }
    this.pos = pos;
    const buf = this.buf;
    let v = n;
    do {
      const q = Math.floor(v / 10);
      buf[--pos] = 0x30 + (v - q * 10);
      v = q;
    } while (v > 0);
  }

  /** toISOString() of an epoch-ms time (isoTime's text), the part up to the second rendered once per second. */
  isoTime(epochMs: number): void {
    const ms = Math.floor(epochMs);
    const second = Math.floor(ms / 1000);
    const prefix = isoSecondPrefix(second);
    if (prefix === '') {
      this.raw(new Date(ms).toISOString()); // years beyond 9999: no cache
      return;
    }
    let pos = this.pos;
    if (pos + 24 > this.limit) {
      this.overflow = true;
      return;
    }
    const buf = this.buf;
    const bytes = isoPrefixBytes; // prefix's bytes (isoSecondPrefix just set them for this second)
    for (let i = 0; i < 20; i++) buf[pos++] = bytes[i]!;
    const frac = ms - second * 1000;
    const hundreds = Math.floor(frac / 100);
    const tens = Math.floor(frac / 10) - hundreds * 10;
    buf[pos++] = 0x30 + hundreds;
    buf[pos++] = 0x30 + tens;
    buf[pos++] = 0x30 + (frac - hundreds * 100 - tens * 10);
    buf[pos++] = 0x5a; // Z
    this.pos = pos;
  }
}
