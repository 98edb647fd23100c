// Per-cluster upstream counters of one worker (Envoy's cluster.upstream_* stats).
// Plain numeric fields bumped in place; the agent sums them over workers.
export class ClusterCounters {
  cxActive = 0;
  cxIdle = 0;
  cxTotal = 0;
  cxConnectFail = 0;
  /** Connections closed because the upstream sent invalid HTTP/1.1 (an invalid response, or bytes after a complete one). */
  cxProtocolError = 0;
  /** TLS origination handshakes that failed (refused certificate or SAN, no common version). */
  tlsHandshakeFailures = 0;
  rqActive = 0;
  rqTotal = 0;
  rqRetry = 0;
  rqTimeout = 0;

  constructor(readonly cluster: string) {}
}
