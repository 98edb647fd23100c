// RANDOM: weighted random over the cumulative weight table (binary search).
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { Balancer } from './balancer.js';

export class RandomBalancer implements Balancer {
  private readonly cumulative: Float64Array;

  constructor(private readonly hosts: readonly UpstreamEndpoint[]) {
    this.cumulative = new Float64Array(hosts.length);
    let sum = 0;
    for (let i = 0; i < hosts.length; i++) this.cumulative[i] = sum += hosts[i]!.weight;
  }

  pick(_hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const hosts = this.hosts;
    const n = hosts.length;
    const total = this.cumulative[n - 1]!;
    const first = hosts[indexOfWeight(this.cumulative, Math.random() * total)]!;
    if (avoid === null || avoid[first.index] !== 1) return first;
    for (let tries = 0; tries < 3; tries++) {
      const e = hosts[indexOfWeight(this.cumulative, Math.random() * total)]!;
      if (avoid[e.index] !== 1) return e;
    }
    for (let i = 0; i < n; i++) if (avoid[hosts[i]!.index] !== 1) return hosts[i]!;
    return first;
  }
}

/** The first index whose running sum exceeds r. */
export function indexOfWeight(cumulative: Float64Array, r: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
