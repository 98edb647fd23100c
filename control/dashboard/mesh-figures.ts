// What one pull of the mesh's request metrics yields, whichever the source
// (the sidecars' own /stats/prometheus, or a Prometheus server): per edge
// (caller service/version -> callee service/version) and per service
// (requests its sidecars received), rates over the last interval and
// latency percentiles. The dashboard state keeps a bounded series of these.

export interface Figures {
  /** Requests per second. */
  readonly rps: number;
  /** Requests per second answered 5xx. */
  readonly errorRps: number;
  /** Requests per second that arrived over mutual TLS (known from the callee's side only). */
  readonly mtlsRps: number;
  /** Latency percentiles in ms; null when no request was seen. */
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface EdgeFigures extends Figures {
  readonly source: string;
  readonly sourceVersion: string;
  readonly target: string;
  readonly targetVersion: string;
}

export interface ServiceFigures extends Figures {
  readonly service: string;
  readonly version: string;
}

export interface PullRound {
  /** Epoch ms the round finished. */
  readonly at: number;
  readonly edges: readonly EdgeFigures[];
  /** Inbound (callee-side) figures per service and version. */
  readonly services: readonly ServiceFigures[];
  /** Targets asked, answered, and the failures (target: message), bounded. */
  readonly targets: number;
  readonly answered: number;
  readonly failures: readonly string[];
}

/** histogram_quantile over cumulative bucket counts (upper bound -> count), linear inside a bucket, as Prometheus does. */
export function bucketQuantile(q: number, buckets: ReadonlyMap<number, number>): number | null {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  if (bounds.length === 0) return null;
  const total = buckets.get(bounds[bounds.length - 1]!)!;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return prevBound; // past the last finite bound: Prometheus answers that bound
      const inBucket = count - prevCount;
      return inBucket <= 0 ? bound : prevBound + ((bound - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}
