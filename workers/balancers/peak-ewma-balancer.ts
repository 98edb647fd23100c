// PEAK_EWMA (an Isthmus extension; Linkerd's balancer): power of two
// choices over the level's hosts, each costed as its peak-sensitive EWMA
// latency x (active requests + 1) / weight. Latency comes from the cluster's
// LatencyTable, which the request path feeds once per finished attempt.
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { otherRandom, randomUsable, type Balancer } from './balancer.js';
import type { LatencyTable } from './latency-table.js';

export class PeakEwmaBalancer implements Balancer {
  constructor(
    private readonly hosts: readonly UpstreamEndpoint[],
    private readonly latency: LatencyTable,
  ) {}

  pick(_hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const hosts = this.hosts;
    if (hosts.length === 1) return hosts[0]!;
    const a = randomUsable(hosts, avoid);
    const b = otherRandom(hosts, a, avoid);
    if (a === b) return a;
    // cost = estimate x (active + 1) / weight; estimates compared through their log scores (no clock read, one exp).
    const ratio = Math.exp(this.latency.logScore(a.index) - this.latency.logScore(b.index));
    return ratio * (a.rqActive + 1) * b.weight <= (b.rqActive + 1) * a.weight ? a : b;
  }
}
