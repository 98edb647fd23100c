import { H2_COUNTER, h2Counters as h2NativeCounters } from '../../src/native.js';
import type { Http2WorkerCounters } from '../../src/stats/worker-stats-snapshot.js';
// HTTP/2 counters of one worker (summed across workers for /stats/prometheus).
export class H2Counters {
  /** Downstream connections that spoke HTTP/2. */
  cxTotal = 0;
  /** Streams (requests) received over HTTP/2. */
  streamsTotal = 0;
  /** Connections ended because the peer broke the protocol or flooded (nghttp2's flood limits, invalid frames, HPACK errors). */
  cxProtocolError = 0;
  /** Connections ended with GOAWAY for too many streams reset by the client before their response (CVE-2023-44487). */
  tooManyPrematureResets = 0;
  /** Streams reset by the client before their response completed. */
  rxReset = 0;
  /** Streams reset because their response waited on the client's window (or reading) past stream_idle_timeout. */
  txFlushTimeout = 0;
}

export const h2Counters = new H2Counters();

const native = new Float64Array(H2_COUNTER.COUNT);

/** This worker's counters, the native sessions' (counted in C++) added in. */
export function h2CountersSnapshot(): Http2WorkerCounters {
  h2NativeCounters(native);
  const c = h2Counters;
  const outboundFlood = native[H2_COUNTER.OUTBOUND_FLOOD]!;
  const continuationFlood = native[H2_COUNTER.CONTINUATION_FLOOD]!;
  const inboundFlood = native[H2_COUNTER.INBOUND_FLOOD]!;
  const invalidFrames = native[H2_COUNTER.INVALID_FRAMES]!;
  return {
    cxTotal: c.cxTotal,
    streamsTotal: c.streamsTotal,
    // Every session ended for a broken protocol or a flood, as the node:http2 path counts them.
    cxProtocolError: c.cxProtocolError + native[H2_COUNTER.PROTOCOL_ERROR]! + outboundFlood + continuationFlood + inboundFlood + invalidFrames,
    tooManyPrematureResets: c.tooManyPrematureResets + native[H2_COUNTER.PREMATURE_RESETS]!,
    rxReset: c.rxReset + native[H2_COUNTER.RX_RESET]!,
    txFlushTimeout: c.txFlushTimeout,
    headerOverflow: native[H2_COUNTER.HEADER_OVERFLOW]!,
    outboundFlood,
    continuationFlood,
    inboundFlood,
    invalidFrames,
  };
}
