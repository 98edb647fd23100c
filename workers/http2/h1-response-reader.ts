// Reads the HTTP/1.1 response an ActiveRequest writes (its head, then the
// body framed by content-length or chunked) and hands it on as HTTP/2 parts:
// a header object for the head, body data, and the end. One per h2 stream;
// it is how an h2 stream reuses the whole HTTP/1.1 request path unchanged.
import { CHUNKED, FLAG, HEAD, decodeChunkedInPlace, headSlots, parseResponseHead } from '../../src/native.js';
import { parseLimits } from '../parse-scratch.js';

/** Response headers an HTTP/2 message may not carry (RFC 9113 8.2.2). */
const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

let scratch = new Uint32Array(headSlots(parseLimits.maxHeaders));

export interface H2ResponseSink {
  /** The head: `headers` holds ':status' and the rest (multi-valued as arrays); `noBody`: nothing follows. */
  h2Head(headers: Record<string, string | string[] | number>, noBody: boolean): void;
  /** The head as its HTTP/1.1 bytes buf[start, end) (checked by the parser); false: the sink wants h2Head's object instead. */
  h2HeadBytes(buf: Buffer, start: number, end: number, status: number, noBody: boolean): boolean;
  /** Body bytes (a buffer the sink may keep); false: the client's window is full. */
  h2Data(data: Buffer): boolean;
  h2End(): void;
  /** The bytes were not a response the reader understands (cannot happen for what ActiveRequest writes). */
  h2Broken(): void;
}

const PHASE_HEAD = 0;
const PHASE_LENGTH = 1;
const PHASE_CHUNKED = 2;
const PHASE_DONE = 3;

export class H1ResponseReader {
  private phase = PHASE_HEAD;
  private pending: Buffer | null = null;
  private remaining = 0;
  /** The chunked body's decoder state, made for the first chunked response only. */
  private chunkState: Float64Array | null = null;

  constructor(
    private readonly sink: H2ResponseSink,
    /** The request was HEAD: the response has no body whatever its head says. */
    private readonly headRequest: boolean,
  ) {}

  get done(): boolean {
    return this.phase === PHASE_DONE;
  }

  get headSeen(): boolean {
    return this.phase !== PHASE_HEAD;
  }

  /** Response bytes; `owned`: the buffer is the reader's to overwrite (chunked data is decoded in place). */
  write(data: Buffer, owned: boolean): boolean {
    let buf = data;
    let pos = 0;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, data]);
      this.pending = null;
      owned = true;
    }
    let ok = true;
    while (pos < buf.length && this.phase !== PHASE_DONE) {
      if (this.phase === PHASE_HEAD) {
        if (scratch.length < headSlots(parseLimits.maxHeaders)) scratch = new Uint32Array(headSlots(parseLimits.maxHeaders));
        const n = parseResponseHead(buf, pos, buf.length, scratch, parseLimits.maxHeadBytes * 2, parseLimits.maxHeaders);
        if (n === 0) {
          // The rest of a head: kept past this call (a buffer not the reader's may be reused by its writer).
          this.pending = owned ? buf.subarray(pos) : Buffer.from(buf.subarray(pos));
          return true;
        }
        if (n < 0) {
          this.phase = PHASE_DONE;
          this.sink.h2Broken();
          return false;
        }
        const status = scratch[HEAD.STATUS_CODE]!;
        if (status < 200) {
          pos += n; // 100 Continue: h2 clients do not need it relayed
          continue;
        }
        this.startBody(buf, pos, pos + n, status);
        pos += n;
        continue;
      }
      if (this.phase === PHASE_LENGTH) {
        const take = Math.min(this.remaining, buf.length - pos);
        this.remaining -= take;
        ok = this.sink.h2Data(pos === 0 && take === buf.length ? buf : buf.subarray(pos, pos + take));
        pos += take;
        if (this.remaining === 0) this.finish();
        continue;
      }
      if (!owned) {
        // Chunked data is decoded in place: into a copy when the buffer is not the reader's (the head needs none).
        buf = Buffer.from(buf.subarray(pos));
        pos = 0;
        owned = true;
      }
      const n = decodeChunkedInPlace(buf, pos, buf.length, this.chunkState!);
      if (n < 0) {
        this.phase = PHASE_DONE;
        this.sink.h2Broken();
        return false;
      }
      if (n > 0) ok = this.sink.h2Data(buf.subarray(pos, pos + n));
      if (this.chunkState![CHUNKED.PHASE] === CHUNKED.DONE_PHASE) this.finish();
      pos = buf.length;
    }
    return ok;
  }

  private startBody(buf: Buffer, start: number, end: number, status: number): void {
    const out = scratch;
    const flags = out[HEAD.FLAGS]!;
    if (this.headRequest || status === 204 || status === 304) {
      this.phase = PHASE_DONE;
    } else if ((flags & FLAG.CHUNKED) !== 0) {
      this.phase = PHASE_CHUNKED;
      (this.chunkState ??= new Float64Array(CHUNKED.STATE_SIZE)).fill(0);
    } else if ((flags & FLAG.CONTENT_LENGTH) !== 0) {
      this.remaining = out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!;
      this.phase = this.remaining === 0 ? PHASE_DONE : PHASE_LENGTH;
    } else {
      this.phase = PHASE_LENGTH; // close-delimited: ActiveRequest never writes one to an HTTP/1.1 request
      this.remaining = Number.MAX_SAFE_INTEGER;
    }
    const noBody = this.phase === PHASE_DONE;
    if (!this.sink.h2HeadBytes(buf, start, end, status, noBody)) this.sink.h2Head(headerObject(buf, out, status), noBody);
    if (noBody) this.sink.h2End();
  }

  private finish(): void {
    this.phase = PHASE_DONE;
    this.sink.h2End();
  }
}

/** The parsed head in `out` as a header object: ':status' and the fields HTTP/2 may carry (multi-valued as arrays). */
function headerObject(buf: Buffer, out: Uint32Array, status: number): Record<string, string | string[] | number> {
  // No prototype: an upstream's header named constructor or __proto__ must not meet Object.prototype's members.
  const headers = Object.create(null) as Record<string, string | string[] | number>;
  headers[':status'] = status;
  const count = out[HEAD.HEADER_COUNT]!;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    const name = buf.latin1Slice(out[base + HEAD.NAME_START]!, out[base + HEAD.NAME_END]!);
    if (CONNECTION_SPECIFIC.has(name)) continue;
    const value = buf.latin1Slice(out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!);
    const prev = headers[name];
    if (prev === undefined) headers[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = [String(prev), value];
  }
  return headers;
}
