// Counts HTTP/1.1 responses on a keep-alive connection with the least parsing
// that frames them correctly: status code, Content-Length or chunked framing.
// The state machine is native/response_framer.cc, the same one the native
// closed loop runs; this class keeps its state for the open loop's reads.
import { FRAMER_STATE, frameResponses } from '../src/native.js';

export class ResponseFramer {
  private readonly state = new Float64Array(FRAMER_STATE.SIZE);

  /** Responses completed with status >= 400 since construction. */
  get errorResponses(): number {
    return this.state[FRAMER_STATE.ERROR_RESPONSES]!;
  }

  /** Set when the stream is not HTTP/1.x as expected; the connection should be dropped. */
  get malformed(): boolean {
    return this.state[FRAMER_STATE.MALFORMED] !== 0;
  }

  /** Feeds bytes [start, end) of buf; returns how many responses completed in them. */
  feed(buf: Uint8Array, start: number, end: number): number {
    return frameResponses(this.state, buf, start, end);
  }
}
