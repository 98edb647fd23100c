// Sums the per-worker stats snapshots into one proxy-wide view for
// /stats/prometheus.
import { mergeHttpFilterStats, type HttpFilterCounters } from './http-filter-stats.js';
import { compareStrings, sumByKey } from './sum-by-key.js';
import type { ConnectionSecurity, Http2WorkerCounters, WorkerStatsSnapshot } from './worker-stats-snapshot.js';
import { mergeTcpProxyStats, type TcpProxySeries } from './tcp-proxy-stats.js';

/** The merge reads these fields of each worker's snapshot. */
export type WorkerStatsInput = Pick<
  WorkerStatsSnapshot,
  'workerId' | 'downstreamCxActive' | 'downstreamCxTotal' | 'downstreamCxOverflow' | 'acceptPausedTotal' | 'requests' | 'clusters' | 'httpFilters'
  | 'tlsHandshakeTotal' | 'tlsHandshakeErrorTotal' | 'noFilterChainMatchTotal' | 'listenerFiltersTimeoutTotal' | 'http2' | 'tcpProxy'
>;

export interface MergedRequestSeries {
  readonly cluster: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  /** Absent: no grpc-status. */
  readonly grpcStatus?: number;
  readonly security?: ConnectionSecurity;
  count: number;
  durationSumMs: number;
  durationBuckets: number[];
}

export interface MergedClusterStats {
  readonly cluster: string;
  cxActive: number;
  cxTotal: number;
  cxConnectFail: number;
  cxProtocolError: number;
  rqActive: number;
  rqTotal: number;
  rqRetry: number;
  rqTimeout: number;
}

export interface WorkerConnectionStats {
  readonly workerId: number;
  readonly downstreamCxActive: number;
  readonly downstreamCxTotal: number;
  readonly downstreamCxOverflow: number;
  readonly acceptPausedTotal: number;
  readonly tlsHandshakeTotal: number;
  readonly tlsHandshakeErrorTotal: number;
  readonly noFilterChainMatchTotal: number;
  readonly listenerFiltersTimeoutTotal: number;
  /** Absent when the worker reported none. */
  readonly http2?: Http2WorkerCounters;
}

export interface MergedStats {
  /** Sorted by cluster, response code, response flags. */
  readonly requests: readonly MergedRequestSeries[];
  /** Sorted by cluster name. */
  readonly clusters: readonly MergedClusterStats[];
  /** Sorted by worker id; not summed, so connection sharding stays visible. */
  readonly workers: readonly WorkerConnectionStats[];
  /** Fault and CORS counters summed per listener stat prefix, sorted by prefix. */
  readonly httpFilters?: readonly HttpFilterCounters[];
  /** tcp_proxy counters summed per stat prefix and cluster. */
  readonly tcpProxy?: readonly TcpProxySeries[];
}

const CLUSTER_COUNTERS = ['cxActive', 'cxTotal', 'cxConnectFail', 'cxProtocolError', 'rqActive', 'rqTotal', 'rqRetry', 'rqTimeout'] as const;

/** Takes one snapshot per worker that answered; returns the sums (series keyed by cluster, code and flags). */
export function mergeWorkerStats(snapshots: readonly WorkerStatsInput[]): MergedStats {
  const requests = new Map<string, MergedRequestSeries>();
  const workers: WorkerConnectionStats[] = [];
  for (const snap of snapshots) {
    workers.push({
      workerId: snap.workerId,
      downstreamCxActive: snap.downstreamCxActive,
      downstreamCxTotal: snap.downstreamCxTotal,
      downstreamCxOverflow: snap.downstreamCxOverflow ?? 0,
      acceptPausedTotal: snap.acceptPausedTotal ?? 0,
      tlsHandshakeTotal: snap.tlsHandshakeTotal ?? 0,
      tlsHandshakeErrorTotal: snap.tlsHandshakeErrorTotal ?? 0,
      noFilterChainMatchTotal: snap.noFilterChainMatchTotal ?? 0,
      listenerFiltersTimeoutTotal: snap.listenerFiltersTimeoutTotal ?? 0,
      ...(snap.http2 !== undefined ? { http2: snap.http2 } : {}),
    });
    for (const s of snap.requests) {
      const grpcStatus = s.grpcStatus ?? -1;
      const sec = s.security;
      const key = `${s.cluster}\u0000${s.responseCode}\u0000${s.responseFlags}\u0000${grpcStatus}` + (sec === undefined ? '' : `\u0000${sec.policy}\u0000${sec.sourcePrincipal}\u0000${sec.destinationPrincipal}`);
      const into = requests.get(key);
      if (into === undefined) {
        requests.set(key, {
          cluster: s.cluster,
          responseCode: s.responseCode,
          responseFlags: s.responseFlags,
          ...(grpcStatus >= 0 ? { grpcStatus } : {}),
          ...(sec !== undefined ? { security: sec } : {}),
          count: s.count,
          durationSumMs: s.durationSumMs,
          durationBuckets: [...s.durationBuckets],
        });
        continue;
      }
      into.count += s.count;
      into.durationSumMs += s.durationSumMs;
      for (let i = 0; i < s.durationBuckets.length; i++) {
        into.durationBuckets[i] = (into.durationBuckets[i] ?? 0) + (s.durationBuckets[i] ?? 0);
      }
    }
  }
  return {
    requests: [...requests.values()].sort(
      (a, b) =>
        compareStrings(a.cluster, b.cluster) || a.responseCode - b.responseCode || compareStrings(a.responseFlags, b.responseFlags)
        || compareStrings(securityText(a.security), securityText(b.security)),
    ),
    clusters: sumByKey(snapshots.flatMap((s) => s.clusters), 'cluster', CLUSTER_COUNTERS),
    workers: workers.sort((a, b) => a.workerId - b.workerId),
    httpFilters: mergeHttpFilterStats(snapshots.map((s) => s.httpFilters)),
    tcpProxy: mergeTcpProxyStats(snapshots.map((s) => s.tcpProxy)),
  };
}

function securityText(s: ConnectionSecurity | undefined): string {
  return s === undefined ? '' : `${s.policy}\u0000${s.sourcePrincipal}\u0000${s.destinationPrincipal}`;
}
