// The router writes an HTTP/2 upstream stream's request body in HTTP/1.1 chunked framing; the stream sends only the
// data. The data ranges are found without copying or rewriting the router's buffers (they may be shared, e.g. a
// constant last chunk, or kept by the router for a retry): each range is sent as a view, as a Content-Length body is.
import { CHUNKED, decodeChunked } from '../../src/native.js';

/** Data ranges of one decodeChunked call: [start0, end0, start1, end1, ...] (a full array means: call again). */
const segments = new Uint32Array(64);

/** What takes the decoded body pieces. */
export interface ChunkedPieceSink {
  /** takes one piece of request body data (a view into the router's buffer); returns false for backpressure. */
  sendPiece(piece: Buffer): boolean;
  /** True once the stream failed or finished (the rest of the write is dropped). */
  readonly stopped: boolean;
}

/**
 * takes a write of chunked framing, the stream's decoder state and the sink; sends its data pieces in order.
 * returns false for backpressure, true otherwise; null when the framing is malformed (the caller fails the stream).
 */
export function sendChunkedPieces(buf: Buffer, state: Float64Array, sink: ChunkedPieceSink): boolean | null {
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
