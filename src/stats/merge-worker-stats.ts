// Sums the per-worker stats snapshots into one proxy-wide view for
// /stats/prometheus.
import { mergeHttpFilterStats, type HttpFilterCounters } from './http-filter-stats.js';
import type { WorkerStatsSnapshot } from './worker-stats-snapshot.js';

/** The merge reads these fields of each worker's snapshot. */
export type WorkerStatsInput = Pick<WorkerStatsSnapshot, 'workerId' | 'downstreamCxActive' | 'downstreamCxTotal' | 'requests' | 'clusters' | 'httpFilters'>;

export interface MergedRequestSeries {
  readonly cluster: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  count: number;
  durationSumMs: number;
  durationBuckets: number[];
}

export interface MergedClusterStats {
  readonly cluster: string;
  cxActive: number;
  cxTotal: number;
  cxConnectFail: number;
  rqActive: number;
  rqTotal: number;
  rqRetry: number;
  rqTimeout: number;
}

export interface WorkerConnectionStats {
  readonly workerId: number;
  readonly downstreamCxActive: number;
  readonly downstreamCxTotal: number;
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
}

const CLUSTER_COUNTERS = ['cxActive', 'cxTotal', 'cxConnectFail', 'rqActive', 'rqTotal', 'rqRetry', 'rqTimeout'] as const;

/** Takes one snapshot per worker that answered; returns the sums (series keyed by cluster, code and flags). */
export function mergeWorkerStats(snapshots: readonly WorkerStatsInput[]): MergedStats {
  const requests = new Map<string, MergedRequestSeries>();
  const clusters = new Map<string, MergedClusterStats>();
  const workers: WorkerConnectionStats[] = [];
  for (const snap of snapshots) {
    workers.push({ workerId: snap.workerId, downstreamCxActive: snap.downstreamCxActive, downstreamCxTotal: snap.downstreamCxTotal });
    for (const s of snap.requests) {
      const key = `${s.cluster}\u0000${s.responseCode}\u0000${s.responseFlags}`;
      const into = requests.get(key);
      if (into === undefined) {
        requests.set(key, {
          cluster: s.cluster,
          responseCode: s.responseCode,
          responseFlags: s.responseFlags,
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
    for (const c of snap.clusters) {
      let into = clusters.get(c.cluster);
      if (into === undefined) {
        into = { cluster: c.cluster, cxActive: 0, cxTotal: 0, cxConnectFail: 0, rqActive: 0, rqTotal: 0, rqRetry: 0, rqTimeout: 0 };
        clusters.set(c.cluster, into);
      }
      for (const counter of CLUSTER_COUNTERS) into[counter] += c[counter];
    }
  }
  return {
    requests: [...requests.values()].sort(
      (a, b) =>
        compareStrings(a.cluster, b.cluster) || a.responseCode - b.responseCode || compareStrings(a.responseFlags, b.responseFlags),
    ),
    clusters: [...clusters.values()].sort((a, b) => compareStrings(a.cluster, b.cluster)),
    workers: workers.sort((a, b) => a.workerId - b.workerId),
    httpFilters: mergeHttpFilterStats(snapshots.map((s) => s.httpFilters)),
  };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
