// istio_requests_total and istio_request_duration_milliseconds for one
// worker: one series per (listener, cluster, response code, flags), found by
// nested maps so recording a request allocates nothing once its series exists.
import { ISTIO_DURATION_BUCKETS_MS, type RequestSeries } from './worker-protocol.js';
import { responseFlagsText } from './response-flags.js';

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
  ) {}
}

export class RequestStats {
  private readonly byListener = new Map<string, Map<string, Map<number, Series>>>();
  downstreamRqTotal = 0;

  record(listener: string, cluster: string, code: number, flags: number, durationMs: number, grpc = -1): void {
    this.downstreamRqTotal++;
    let byCluster = this.byListener.get(listener);
    if (byCluster === undefined) this.byListener.set(listener, (byCluster = new Map()));
    let byCode = byCluster.get(cluster);
    if (byCode === undefined) byCluster.set(cluster, (byCode = new Map()));
    const key = (grpc + 1) * 1099511627776 + code * 1048576 + flags; // room for 20 flag bits and the response code
    let series = byCode.get(key);
    if (series === undefined) byCode.set(key, (series = new Series(listener, cluster, code, flags, grpc)));
    series.count++;
    series.sumMs += durationMs;
    let b = 0;
    while (b < BUCKETS.length && durationMs > BUCKETS[b]!) b++;
    series.buckets[b]!++;
  }

  snapshot(): RequestSeries[] {
    const out: RequestSeries[] = [];
    for (const byCluster of this.byListener.values()) {
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
