// How a request body is framed (from its head) and read off the client's
// bytes: a counted length, or chunked coding decoded natively in place and
// re-framed as one chunk per read for the upstream (so a body sent in 1-byte
// chunks costs JS one piece per read, not per chunk). The state lives on the
// ActiveRequest (no object per request); the pieces go back to it.
import { CHUNKED, FLAG, HEAD, decodeChunkedInPlace } from '../src/native.js';
import type { ActiveRequest } from './active-request.js';
import { encodeBodyPiece } from './message-heads.js';
import { retain } from './shared-read-buffer.js';

export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;

/** The terminating chunk, as it goes upstream (and to the client after a chunked response). */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** Sets req.bodyMode (and its length or chunk decoder state) from the parsed head in `out`. */
export function readBodyFraming(req: ActiveRequest, flags: number, out: Uint32Array): void {
  if ((flags & FLAG.CHUNKED) !== 0) {
    req.bodyMode = BODY_CHUNKED;
    // The connection's decoder state: it runs one request body at a time.
    const state = req.conn.chunkState;
    state.fill(0);
    req.chunkState = state;
  } else if ((flags & FLAG.CONTENT_LENGTH) !== 0) {
    req.bodyRemaining = out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!;
    if (req.bodyRemaining > 0) req.bodyMode = BODY_LENGTH;
  }
}

/** Request body bytes in buf[start, end); returns where this request's body ended (later bytes are the next request). */
export function readRequestBody(req: ActiveRequest, buf: Buffer, start: number, end: number): number {
  if (req.bodyMode === BODY_LENGTH) {
    const take = Math.min(req.bodyRemaining, end - start);
    req.bodyRemaining -= take;
    req.deliver(retain(buf, start, start + take));
    if (req.bodyRemaining === 0) req.bodyComplete();
    return start + take;
  }
  const state = req.chunkState!;
  // Overwrites buf[start, consumed) (our read buffer): the data of every chunk in it, contiguous at start.
  const n = decodeChunkedInPlace(buf, start, end, state);
  if (n < 0) {
    req.downstreamProtocolError();
    return end;
  }
  if (n > 0) req.deliver(encodeBodyPiece(null, true, buf, start, start + n));
  if (state[CHUNKED.PHASE] !== CHUNKED.DONE_PHASE) return end;
  req.deliver(LAST_CHUNK);
  req.bodyComplete();
  return state[CHUNKED.CONSUMED]!;
}
