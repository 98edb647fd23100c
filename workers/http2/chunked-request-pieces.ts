// The router writes an HTTP/2 upstream stream's request body in HTTP/1.1 chunked framing; the stream sends only the
// data. The data ranges are found without copying or rewriting the router's buffers (they may be shared, e.g. a
// constant last chunk, or kept by the router for a retry): each range is sent as a view, as a Content-Length body is.
import { CHUNKED, decodeChunked } from '../../src/native.js';

/** Data ranges of one decodeChunked call: [start0, end0, start1, end1, ...] (a full array means: call again). */
const segments = new Uint32Array(64);

/** What takes the decoded body pieces, and keeps the body's decoder state. */
export interface ChunkedPieceSink {
  /** takes one piece of request body data (a view into the router's buffer); returns false for backpressure. */
  sendPiece(piece: Buffer): boolean;
  /** True once the stream failed or finished (the rest of the write is dropped). */
  readonly stopped: boolean;
  /**
   * The decoder's state: null until a write needs the decoder (whole chunks and the bare last chunk do not: a gRPC
   * request makes no state), BODY_ENDED once the bare last chunk was read here. Set to null for a new body.
   */
  chunkState: Float64Array | null;
}

/** The state after a bare last chunk read here (phase done). Never handed to the decoder, so never written. */
export const BODY_ENDED: Float64Array = new Float64Array(CHUNKED.STATE_SIZE);
BODY_ENDED[CHUNKED.PHASE] = CHUNKED.DONE_PHASE;

/**
 * takes a write of chunked framing and the sink (with its decoder state); sends its data pieces in order.
 * returns false for backpressure, true otherwise; null when the framing is malformed (the caller fails the stream).
 */
export function sendChunkedPieces(buf: Buffer, sink: ChunkedPieceSink): boolean | null {
  const held = sink.chunkState;
  // Past the end of the body: the decoder reads nothing more either.
  if (held === BODY_ENDED) return true;
  // Between chunks (the decoder's other slots are then 0), a write that is exactly one chunk (as the request's chunked
  // reader or an HTTP/2 client's DATA frame make them: a gRPC message each) or the bare last chunk is read here: no
  // call into the decoder, and its state after a whole chunk is what it was before.
  if (held === null || held[CHUNKED.PHASE] === 0) {
    const dataStart = wholeChunkData(buf);
    if (dataStart > 0) {
      const ok = sink.sendPiece(buf.subarray(dataStart, buf.length - 2));
      return sink.stopped || ok;
    }
    if (isBareLastChunk(buf)) {
      sink.chunkState = BODY_ENDED;
      return true;
    }
  }
  const state = held ?? (sink.chunkState = new Float64Array(CHUNKED.STATE_SIZE));
  let at = 0;
  let ok = true;
  for (;;) {
    const n = decodeChunked(buf, at, buf.length, state, segments);
    if (n < 0) return null;
    for (let i = 0; i < n; i++) {
      const start = segments[2 * i]!;
      const end = segments[2 * i + 1]!;
      if (end > start && !sink.sendPiece(buf.subarray(start, end))) ok = false;
      if (sink.stopped) return true;
    }
    // Fewer ranges than room: the whole write was read (or the message ended).
    if (2 * n < segments.length || state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) return ok;
    at = state[CHUNKED.CONSUMED]!;
    if (at >= buf.length) return ok;
  }
}

/** Hex digits of a chunk size read here; a longer size line goes to the decoder. */
const MAX_FAST_DIGITS = 8;

/** takes a write; returns whether it is exactly the last chunk with no trailer section ("0\r\n\r\n"). */
function isBareLastChunk(buf: Buffer): boolean {
  return buf.length === 5 && buf[0] === 48 && buf[1] === 13 && buf[2] === 10 && buf[3] === 13 && buf[4] === 10;
}

/**
 * takes a write; returns where its data starts when it is exactly one chunk of data: size in hex digits (no
 * extension), CRLF, that many bytes, CRLF. Else -1 (the decoder reads it, the last chunk too: trailers may follow).
 */
export function wholeChunkData(buf: Buffer): number {
  const len = buf.length;
  let size = 0;
  let i = 0;
  for (; i < len && i <= MAX_FAST_DIGITS; i++) {
    const c = buf[i]!;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    size = size * 16 + d;
  }
  if (i === 0 || i > MAX_FAST_DIGITS || size === 0) return -1;
  if (len !== i + 2 + size + 2 || buf[i] !== 13 || buf[i + 1] !== 10 || buf[len - 2] !== 13 || buf[len - 1] !== 10) return -1;
  return i + 2;
}
