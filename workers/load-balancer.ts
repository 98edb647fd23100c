// Endpoint pickers, one per Envoy lb_policy. Each is built once per cluster
// config and picks without allocating. `exclude` lets a retry avoid the
// endpoint that just failed when another one exists.
import type { LbPolicy } from '../src/config/bootstrap-types.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

export interface LoadBalancer {
  pick(exclude: UpstreamEndpoint | null): UpstreamEndpoint | null;
}

/** Smooth weighted round robin (nginx's algorithm): even spread, honours weights, O(n) per pick. */
class RoundRobinBalancer implements LoadBalancer {
  private readonly current: Float64Array;
  private readonly totalWeight: number;
  private next = 0;
  private readonly uniform: boolean;

  constructor(private readonly endpoints: readonly UpstreamEndpoint[]) {
    this.current = new Float64Array(endpoints.length);
    let total = 0;
    let uniform = true;
    for (const e of endpoints) {
      total += e.weight;
      if (e.weight !== endpoints[0]!.weight) uniform = false;
    }
    this.totalWeight = total;
    this.uniform = uniform;
  }

  pick(exclude: UpstreamEndpoint | null): UpstreamEndpoint | null {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return null;
    if (this.uniform) {
      for (let tries = 0; tries < n; tries++) {
        const e = eps[this.next]!;
        this.next = this.next + 1 === n ? 0 : this.next + 1;
        if (e !== exclude || n === 1) return e;
      }
      return null;
    }
    let best = -1;
    for (let i = 0; i < n; i++) {
      this.current[i]! += eps[i]!.weight;
      if (eps[i] === exclude && n > 1) continue;
      if (best < 0 || this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.totalWeight;
    return eps[best]!;
  }
}

/** Weighted random over the cumulative weight table. */
class RandomBalancer implements LoadBalancer {
  private readonly cumulative: Float64Array;

  constructor(private readonly endpoints: readonly UpstreamEndpoint[]) {
    this.cumulative = new Float64Array(endpoints.length);
    let sum = 0;
    endpoints.forEach((e, i) => {
      sum += e.weight;
      this.cumulative[i] = sum;
    });
  }

  pick(exclude: UpstreamEndpoint | null): UpstreamEndpoint | null {
    const n = this.endpoints.length;
    if (n === 0) return null;
    for (let tries = 0; tries < 4; tries++) {
      const e = this.endpoints[indexOfWeight(this.cumulative, Math.random() * this.cumulative[n - 1]!)]!;
      if (e !== exclude || n === 1) return e;
    }
    return this.endpoints[0] === exclude ? this.endpoints[1]! : this.endpoints[0]!;
  }
}

function indexOfWeight(cumulative: Float64Array, r: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Envoy's LEAST_REQUEST with choice_count 2: sample two endpoints, take the one
 * with fewer active requests (weights scale the count, as Envoy does when
 * weights differ). Power of two choices avoids the herd that a global
 * minimum causes.
 */
class LeastRequestBalancer implements LoadBalancer {
  constructor(private readonly endpoints: readonly UpstreamEndpoint[]) {}

  pick(exclude: UpstreamEndpoint | null): UpstreamEndpoint | null {
    const eps = this.endpoints;
    const n = eps.length;
    if (n === 0) return null;
    if (n === 1) return eps[0]!;
    let a = eps[(Math.random() * n) | 0]!;
    let b = eps[(Math.random() * n) | 0]!;
    if (a === exclude) a = b;
    if (b === exclude) b = a;
    if (a === exclude) return eps[0] === exclude ? eps[1]! : eps[0]!;
    return (a.rqActive + 1) / a.weight <= (b.rqActive + 1) / b.weight ? a : b;
  }
}

export function createLoadBalancer(policy: LbPolicy, endpoints: readonly UpstreamEndpoint[]): LoadBalancer {
  switch (policy) {
    case 'ROUND_ROBIN':
      return new RoundRobinBalancer(endpoints);
    case 'RANDOM':
      return new RandomBalancer(endpoints);
    case 'LEAST_REQUEST':
      return new LeastRequestBalancer(endpoints);
    default:
      throw new Error(`lb_policy ${policy} is not implemented yet`);
  }
}
