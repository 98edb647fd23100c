// A cluster's hosts as one health epoch sees them: endpoints grouped by
// priority (0 first), each level with its usable hosts (the healthy ones, or
// all of them in panic) and its own balancer, plus the share of requests each
// level gets (priority-load.ts). Immutable: the cluster builds a new one when
// the health epoch moves.
import type { Cluster } from '../../src/config/bootstrap-types.js';
import type { ClusterHealthView } from '../cluster-health-view.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { NO_HASH, type Balancer } from './balancer.js';
import { createBalancer } from './create-balancer.js';
import type { LatencyTable } from './latency-table.js';
import { planPriorities } from './priority-load.js';
import { LocalityWeightedBalancer } from './locality-weighted-balancer.js';

export interface PriorityLevel {
  readonly priority: number;
  readonly hosts: readonly UpstreamEndpoint[];
  readonly healthy: number;
  readonly panic: boolean;
  /** Percent of requests this level gets. */
  readonly load: number;
  /** The hosts picks go to: healthy ones, or all in panic. */
  readonly usable: readonly UpstreamEndpoint[];
  /** null when the level has no usable host. */
  readonly balancer: Balancer | null;
}

function weightOf(hosts: readonly UpstreamEndpoint[]): number {
  let w = 0;
  for (const h of hosts) w += h.weight;
  return w;
}

export class PrioritySet {
  readonly levels: readonly PriorityLevel[];
  /** Running sums of the levels' loads, for choosing a level with a number in [0, 100). */
  private readonly cumulative: Uint8Array;
  /** The one level with load when there is just one (the common case): no choice to make. */
  private readonly only: Balancer | null;
  private readonly single: boolean;

  constructor(config: Cluster, endpoints: readonly UpstreamEndpoint[], health: ClusterHealthView, latency: LatencyTable | null) {
    const byPriority: UpstreamEndpoint[][] = [];
    const healthyByPriority: UpstreamEndpoint[][] = [];
    for (let i = 0; i < endpoints.length; i++) {
      const p = config.endpoints[i]!.priority;
      while (byPriority.length <= p) {
        byPriority.push([]);
        healthyByPriority.push([]);
      }
      byPriority[p]!.push(endpoints[i]!);
      if (health.healthy(i)) healthyByPriority[p]!.push(endpoints[i]!);
    }
    const plan = planPriorities(
      byPriority.map((h) => h.length),
      healthyByPriority.map((h) => h.length),
      config.overprovisioningFactor,
      config.healthyPanicThresholdPercent,
    );
    const localityWeighted = LocalityWeightedBalancer.worthIt(config, config.endpoints);
    this.levels = byPriority.map((hosts, p) => {
      const usable = plan.panic[p] ? hosts : healthyByPriority[p]!;
      let balancer: Balancer | null = null;
      if (usable.length > 0 && localityWeighted) {
        const withConfig = endpoints.map((host, i) => ({ host, config: config.endpoints[i]! })).filter((e) => e.config.priority === p);
        balancer = new LocalityWeightedBalancer(config, withConfig, usable, latency);
      } else if (usable.length > 0) {
        balancer = createBalancer(config, usable, latency, weightOf(hosts));
      }
      return {
        priority: p,
        hosts,
        healthy: healthyByPriority[p]!.length,
        panic: plan.panic[p]!,
        load: plan.load[p]!,
        usable,
        balancer,
      };
    });
    this.cumulative = new Uint8Array(this.levels.length);
    let sum = 0;
    let loaded = 0;
    let last: PriorityLevel | null = null;
    for (let p = 0; p < this.levels.length; p++) {
      sum += this.levels[p]!.load;
      this.cumulative[p] = sum;
      if (this.levels[p]!.load > 0) {
        loaded++;
        last = this.levels[p]!;
      }
    }
    this.single = loaded <= 1;
    this.only = loaded === 1 ? last!.balancer : null;
  }

  /** The level for this request: by its hash (hash balancers: a key stays on one level) or at random. */
  chooseLevel(hash: number): PriorityLevel | null {
    const levels = this.levels;
    if (levels.length === 0) return null;
    const r = hash === NO_HASH ? (Math.random() * 100) | 0 : hash % 100;
    const cum = this.cumulative;
    for (let p = 0; p < levels.length; p++) if (r < cum[p]!) return levels[p]!;
    return levels[levels.length - 1]!;
  }

  /** An endpoint, or null when the chosen level has none usable (503 no healthy upstream). */
  pick(hash: number, avoid: Uint8Array | null): UpstreamEndpoint | null {
    const balancer = this.single ? this.only : (this.chooseLevel(hash)?.balancer ?? null);
    return balancer === null ? null : balancer.pick(hash, avoid);
  }
}
