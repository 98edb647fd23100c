// How a request body is framed (from its head) and read off the client's
// bytes: a counted length, or chunked coding decoded natively in place and
// re-framed as one chunk per read for the upstream (so a body sent in 1-byte
// chunks costs JS one piece per read, not per chunk). One reader per request
// that has a body (none for the rest); the pieces go to its sink. A chunked
// body's trailer section becomes the request's trailers (chunked-trailers.ts).
import { Buffer } from 'node:buffer';
import { CHUNKED, FLAG, HEAD, PARSE_ERROR, decodeChunkedInPlace } from '../src/native.js';
import { encodeBodyPiece } from './message-heads.js';
import { retain } from './shared-read-buffer.js';
import { ChunkedTrailerSection, TOO_MANY_TRAILERS, passedTrailerBytes } from './chunked-trailers.js';

/** The terminating chunk, as it goes upstream (and to the client after a chunked response). */
export const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** Where the body goes (ActiveRequest). */
export interface RequestBodySink {
  /** One piece, framed for upstream (a copy: it outlives the read). */
  deliver(piece: Buffer): void;
  bodyComplete(): void;
  /** The chunked coding was malformed; `tooLarge`: its trailer section passed the limit (Envoy answers 431). */
  downstreamProtocolError(tooLarge?: boolean): void;
  /** The request's trailers (a chunked body's trailer section), set before the last chunk is delivered. */
  requestTrailers: Record<string, string> | null;
}

export class RequestBodyReader {
  private constructor(
    /** Bytes still to come of a counted body; unused when chunked. */
    private remaining: number,
    /** The chunk decoder's state; null for a counted body. */
    private readonly chunkState: Float64Array | null,
  ) {}

  /** The chunked body's trailer section, once one has begun (most bodies have none). */
  private trailers: ChunkedTrailerSection | null = null;

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
      sink.downstreamProtocolError(n === PARSE_ERROR.TRAILERS_TOO_LARGE);
      return end;
    }
    if (n > 0) sink.deliver(encodeBodyPiece(null, true, buf, start, start + n));
    // The trailer bytes are past the data the decoder moved: still as the client sent them.
    if ((this.trailers !== null || passedTrailerBytes(state)) && !(this.trailers ??= new ChunkedTrailerSection()).collect(buf, state)) {
      sink.downstreamProtocolError(true); // 431, as for a head that large
      return end;
    }
    if (state[CHUNKED.PHASE] !== CHUNKED.DONE_PHASE) return end;
    const trailers = this.trailers?.take() ?? null;
    if (trailers === TOO_MANY_TRAILERS) {
      sink.downstreamProtocolError(true); // 431, as for too many header fields
      return end;
    }
    // Forwarded as the upstream speaks: an HTTP/1.1 one gets them in the last chunk, an HTTP/2 one as trailers.
    if (trailers !== null) sink.requestTrailers = trailers;
    sink.deliver(LAST_CHUNK);
    sink.bodyComplete();
    return state[CHUNKED.CONSUMED]!;
  }
}
