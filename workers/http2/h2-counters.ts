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
}

export const h2Counters = new H2Counters();
