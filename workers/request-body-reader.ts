// How a request body is framed (from its head) and read off the client's
// bytes: a counted length, or chunked coding decoded natively in place and
// re-framed as one chunk per read for the upstream (so a body sent in 1-byte
// chunks costs JS one piece per read, not per chunk). One reader per request
// that has a body (none for the rest); the pieces go to its sink.
import { Buffer } from 'node:buffer';
import { CHUNKED, FLAG, HEAD, decodeChunkedInPlace } from '../src/native.js';
import { encodeBodyPiece } from './message-heads.js';
import { retain } from './shared-read-buffer.js';

/** The terminating chunk, as it goes upstream (and to the client after a chunked response). */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** Where the body goes (ActiveRequest). */
export interface RequestBodySink {
  /** One piece, framed for upstream (a copy: it outlives the read). */
  deliver(piece: Buffer): void;
  bodyComplete(): void;
  /** The chunked coding was malformed. */
  downstreamProtocolError(): void;
}

export class RequestBodyReader {
  private constructor(
    /** Bytes still to come of a counted body; unused when chunked. */
    private remaining: number,
    /** The chunk decoder's state; null for a counted body. */
    private readonly chunkState: Float64Array | null,
  ) {}

  /**
   * The reader for the head parsed in `out` (`flags` its FLAGS), or null when the request has no body.
   * `chunkState`: the connection's decoder state, reused since it runs one request body at a time.
   */
  static forHead(flags: number, out: Uint32Array, chunkState: Float64Array): RequestBodyReader | null {
    if ((flags & FLAG.CHUNKED) !== 0) {
      chunkState.fill(0);
      return new RequestBodyReader(0, chunkState);
    }
    if ((flags & FLAG.CONTENT_LENGTH) === 0) return null;
    const length = out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!;
    return length > 0 ? new RequestBodyReader(length, null) : null;
  }

  /** Body bytes in buf[start, end) to `sink`; returns where this request's body ended (later bytes are the next request). */
  read(sink: RequestBodySink, buf: Buffer, start: number, end: number): number {
    const state = this.chunkState;
    if (state === null) {
      const take = Math.min(this.remaining, end - start);
      this.remaining -= take;
      sink.deliver(retain(buf, start, start + take));
      if (this.remaining === 0) sink.bodyComplete();
      return start + take;
    }
    // Overwrites buf[start, consumed) (our read buffer): the data of every chunk in it, contiguous at start.
    const n = decodeChunkedInPlace(buf, start, end, state);
    if (n < 0) {
      sink.downstreamProtocolError();
      return end;
    }
    if (n > 0) sink.deliver(encodeBodyPiece(null, true, buf, start, start + n));
    if (state[CHUNKED.PHASE] !== CHUNKED.DONE_PHASE) return end;
    sink.deliver(LAST_CHUNK);
    sink.bodyComplete();
    return state[CHUNKED.CONSUMED]!;
  }
}
