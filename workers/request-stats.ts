// istio_requests_total and istio_request_duration_milliseconds for one
// worker: one series per (listener, cluster, response code, flags), found by
// nested maps so recording a request allocates nothing once its series exists.
import { ISTIO_DURATION_BUCKETS_MS, type RequestSeries } from './worker-protocol.js';
import { responseFlagsText } from './response-flags.js';
import type { ConnectionSecurity } from '../src/stats/worker-stats-snapshot.js';

/** Distinct principals a worker keeps series for; past it, connections count as "unknown" (peers choose their SANs). */
const MAX_SECURITY_KEYS = 1024;
const interned = new Map<string, ConnectionSecurity>();

/** The one ConnectionSecurity object for these values (null once MAX_SECURITY_KEYS are in use). */
export function internSecurity(policy: ConnectionSecurity['policy'], sourcePrincipal: string, destinationPrincipal: string): ConnectionSecurity | null {
  const key = policy + '\u0000' + sourcePrincipal + '\u0000' + destinationPrincipal;
  let found = interned.get(key);
  if (found === undefined) {
    if (interned.size >= MAX_SECURITY_KEYS) return null;
    interned.set(key, (found = Object.freeze({ policy, sourcePrincipal, destinationPrincipal })));
  }
  return found;
}

const BUCKETS = ISTIO_DURATION_BUCKETS_MS;

class Series {
  count = 0;
  sumMs = 0;
  /** Per-bucket (not cumulative) counts; the last slot is above every bound. */
  readonly buckets = new Float64Array(BUCKETS.length + 1);
  constructor(
    readonly listener: string,
    readonly cluster: string,
    readonly code: number,
    readonly flags: number,
    /** -1: no grpc-status. */
    readonly grpc: number,
    readonly security: ConnectionSecurity | null,
  ) {}
}

export class RequestStats {
  /** The last series recorded and what found it: a worker's requests mostly repeat one (listener, cluster, code). */
  private lastListener = '';
  private lastCluster = '';
  private lastKey = -1;
  private lastSecurity: ConnectionSecurity | null = null;
  private lastSeries: Series | null = null;

  private readonly byListener = new Map<string, Map<string, Map<number, Series>>>();
  /** Series of connections with a known security (interned ConnectionSecurity objects), by security, then as above. */
  private readonly bySecurity = new Map<ConnectionSecurity, Map<string, Map<string, Map<number, Series>>>>();
  downstreamRqTotal = 0;

  /** `security` must be interned (internSecurity): series are found by its identity. */
  record(listener: string, cluster: string, code: number, flags: number, durationMs: number, grpc = -1, security: ConnectionSecurity | null = null): void {
    this.downstreamRqTotal++;
    const key = (grpc + 1) * 1099511627776 + code * 1048576 + flags; // room for 20 flag bits and the response code
    let series = this.lastSeries;
    if (series === null || key !== this.lastKey || listener !== this.lastListener || cluster !== this.lastCluster || security !== this.lastSecurity) {
      series = this.findSeries(listener, cluster, key, code, flags, grpc, security);
      this.lastSeries = series;
      this.lastListener = listener;
      this.lastCluster = cluster;
      this.lastKey = key;
      this.lastSecurity = security;
    }
    series.count++;
    series.sumMs += durationMs;
    let b = 0;
    while (b < BUCKETS.length && durationMs > BUCKETS[b]!) b++;
    series.buckets[b]!++;
  }

  private findSeries(listener: string, cluster: string, key: number, code: number, flags: number, grpc: number, security: ConnectionSecurity | null): Series {
    let listeners = this.byListener;
    if (security !== null) {
      let found = this.bySecurity.get(security);
      if (found === undefined) this.bySecurity.set(security, (found = new Map()));
      listeners = found;
    }
    let byCluster = listeners.get(listener);
    if (byCluster === undefined) listeners.set(listener, (byCluster = new Map()));
    let byCode = byCluster.get(cluster);
    if (byCode === undefined) byCluster.set(cluster, (byCode = new Map()));
    let series = byCode.get(key);
    if (series === undefined) byCode.set(key, (series = new Series(listener, cluster, code, flags, grpc, security)));
    return series;
  }

  snapshot(): RequestSeries[] {
    const out: RequestSeries[] = [];
    for (const byListener of [this.byListener, ...this.bySecurity.values()]) for (const byCluster of byListener.values()) {
      for (const byCode of byCluster.values()) {
        for (const s of byCode.values()) {
          const cumulative: number[] = [];
          let acc = 0;
          for (let i = 0; i < BUCKETS.length; i++) cumulative.push((acc += s.buckets[i]!));
          out.push({
            cluster: s.cluster,
            listener: s.listener,
            responseCode: s.code,
            responseFlags: responseFlagsText(s.flags),
            ...(s.grpc >= 0 ? { grpcStatus: s.grpc } : {}),
            ...(s.security !== null ? { security: s.security } : {}),
            count: s.count,
            durationSumMs: s.sumMs,
            durationBuckets: cumulative,
          });
        }
      }
    }
    return out;
  }
}
