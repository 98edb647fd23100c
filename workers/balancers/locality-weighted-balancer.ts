// Locality-weighted balancing (common_lb_config.locality_weighted_lb_config):
// within one priority level, pick a locality by its load_balancing_weight
// scaled by how much of it is available (healthy hosts / hosts, times the
// overprovisioning factor, capped at 1, as Envoy computes it), then a host in
// that locality with the cluster's own policy. Localities without a weight get
// no traffic, as in Envoy.
import type { Cluster, Endpoint } from '../../src/config/bootstrap-types.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { Balancer } from './balancer.js';
import { createBalancer } from './create-balancer.js';
import type { LatencyTable } from './latency-table.js';

function localityKey(e: Endpoint): string {
  return `${e.locality.region}/${e.locality.zone}/${e.locality.subZone}`;
}

export class LocalityWeightedBalancer implements Balancer {
  private readonly balancers: Balancer[] = [];
  /** Running sums of the localities' effective weights. */
  private readonly cumulative: number[] = [];
  private readonly fallback: Balancer;

  /**
   * `hosts`: the level's configured hosts with their config entries; `usable`: the ones picks may go to (healthy,
   * or all in panic). Use only when `worthIt` says some locality has a weight.
   */
  constructor(config: Cluster, hosts: readonly { host: UpstreamEndpoint; config: Endpoint }[], usable: readonly UpstreamEndpoint[], latency: LatencyTable | null) {
    const usableSet = new Set(usable);
    const groups = new Map<string, { weight: number; total: number; usable: UpstreamEndpoint[] }>();
    for (const { host, config: e } of hosts) {
      const key = localityKey(e);
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { weight: e.localityWeight ?? 0, total: 0, usable: [] }));
      g.total++;
      if (usableSet.has(host)) g.usable.push(host);
    }
    let sum = 0;
    for (const g of groups.values()) {
      if (g.weight === 0 || g.usable.length === 0) continue;
      const availability = Math.min(1, (g.usable.length / g.total) * (config.overprovisioningFactor / 100));
      sum += g.weight * availability;
      this.cumulative.push(sum);
      this.balancers.push(createBalancer(config, g.usable, latency));
    }
    this.fallback = createBalancer(config, usable, latency);
  }

  /** Whether any of these endpoints carries a locality weight. */
  static worthIt(config: Cluster, entries: readonly Endpoint[]): boolean {
    if (!config.localityWeighted || config.lbPolicy === 'RING_HASH' || config.lbPolicy === 'MAGLEV') return false;
    return entries.some((e) => e.localityWeight !== undefined);
  }

  pick(hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const n = this.cumulative.length;
    if (n === 0) return this.fallback.pick(hash, avoid);
    const r = Math.random() * this.cumulative[n - 1]!;
    for (let i = 0; i < n; i++) if (r < this.cumulative[i]!) return this.balancers[i]!.pick(hash, avoid);
    return this.balancers[n - 1]!.pick(hash, avoid);
  }
}
