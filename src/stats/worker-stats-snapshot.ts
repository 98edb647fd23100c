// What each worker reports for /stats/prometheus: the agent asks every
// worker for one snapshot and merges them (merge-worker-stats.ts). Shared by
// workers/ (which produce it) and src/stats (which renders it).
import type { HttpFilterCounters } from './http-filter-stats.js';
import type { TcpProxySeries } from './tcp-proxy-stats.js';

/** One istio_requests_total / istio_request_duration_milliseconds series. */
export interface RequestSeries {
  /** Upstream cluster name, or '' for a local reply that never chose a cluster. */
  readonly cluster: string;
  readonly listener: string;
  readonly responseCode: number;
  /** Envoy response flags, e.g. '-', 'NR', 'UF,URX'. */
  readonly responseFlags: string;
  /** The gRPC status (grpc-status of the response or its trailers); absent for a response that had none. */
  readonly grpcStatus?: number;
  /** How the downstream connection was secured, when known (absent: connection_security_policy "unknown"). */
  readonly security?: ConnectionSecurity;
  readonly count: number;
  /** Sum of durations, ms. */
  readonly durationSumMs: number;
  /** Cumulative counts, one per bucket of ISTIO_DURATION_BUCKETS_MS (the +Inf bucket is `count`). */
  readonly durationBuckets: readonly number[];
}

export interface UpstreamClusterStats {
  readonly cluster: string;
  readonly cxActive: number; // open upstream connections (busy + idle)
  readonly cxIdle: number;
  readonly cxTotal: number;
  readonly cxConnectFail: number;
  readonly cxProtocolError: number;
  readonly rqActive: number;
  readonly rqTotal: number;
  readonly rqRetry: number;
  readonly rqTimeout: number;
}

export interface WorkerStatsSnapshot {
  readonly workerId: number;
  readonly downstreamCxActive: number;
  readonly downstreamCxTotal: number;
  readonly downstreamRqTotal: number;
  /** Connections closed at accept over --max-connections. */
  readonly downstreamCxOverflow?: number;
  /** Times accepting paused for lack of file descriptors. */
  readonly acceptPausedTotal?: number;
  /** Downstream TLS handshakes completed, and failed (refused certificates, garbage, no common version). */
  readonly tlsHandshakeTotal?: number;
  readonly tlsHandshakeErrorTotal?: number;
  /** Connections closed because no filter chain matched them. */
  readonly noFilterChainMatchTotal?: number;
  readonly listenerFiltersTimeoutTotal?: number;
  /** HTTP/2 downstream counters (absent from workers that predate them). */
  readonly http2?: Http2WorkerCounters;
  readonly configVersion: number;
  readonly requests: readonly RequestSeries[];
  readonly clusters: readonly UpstreamClusterStats[];
  /** Fault and CORS filter counters per listener stat prefix (absent: none). */
  readonly httpFilters?: readonly HttpFilterCounters[];
  /** tcp_proxy counters per stat prefix and cluster (absent: none). */
  readonly tcpProxy?: readonly TcpProxySeries[];
}

/** Istio's default buckets for istio_request_duration_milliseconds. */
export const ISTIO_DURATION_BUCKETS_MS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

/** HTTP/2 downstream counters of one worker (workers/http2/h2-counters.ts). */
export interface Http2WorkerCounters {
  readonly cxTotal: number;
  readonly streamsTotal: number;
  readonly cxProtocolError: number;
  readonly tooManyPrematureResets: number;
  readonly rxReset: number;
  /** Streams reset after their response waited on the client past stream_idle_timeout (zero-window stall). */
  readonly txFlushTimeout?: number;
  /** Native sessions only (native/h2_session.h): streams refused for a header list past the limit (HPACK bomb). */
  readonly headerOverflow?: number;
  /** Sessions ended for more than max_outbound_frames frames queued to a peer that does not read. */
  readonly outboundFlood?: number;
  /** Sessions ended for a header block split into too many CONTINUATION frames. */
  readonly continuationFlood?: number;
  /** Sessions ended for SETTINGS/PING/RST floods (control frames owed past max_outbound_control_frames). */
  readonly inboundFlood?: number;
  /** Sessions ended for too many invalid frames. */
  readonly invalidFrames?: number;
}

/** istio_requests_total's connection_security_policy and principals for a downstream connection. */
export interface ConnectionSecurity {
  /** "mutual_tls" (the client presented a certificate the listener verified) or "none" (plaintext on a TLS-capable listener). */
  readonly policy: 'mutual_tls' | 'none';
  /** The client certificate's URI SAN ('' without one). */
  readonly sourcePrincipal: string;
  /** This proxy's certificate's URI SAN ('' without one). */
  readonly destinationPrincipal: string;
}
