// A cluster as one worker runs it: its endpoints (each with a pool), its
// balancer and counters. Built from config; kept across reloads while its
// definition is unchanged so pooled connections survive a route change.
import type { Cluster } from '../src/config/bootstrap-types.js';
import { ClusterCounters } from './cluster-counters.js';
import { createLoadBalancer, type LoadBalancer } from './load-balancer.js';
import { UpstreamEndpoint } from './upstream-endpoint.js';
import type { ClusterStatus } from './worker-protocol.js';

export class UpstreamCluster {
  readonly name: string;
  readonly endpoints: readonly UpstreamEndpoint[];
  readonly counters: ClusterCounters;
  private readonly balancer: LoadBalancer;

  constructor(
    readonly config: Cluster,
    /** The config's canonical text, to tell an unchanged cluster on reload. */
    readonly fingerprint: string,
    counters?: ClusterCounters,
  ) {
    this.name = config.name;
    this.counters = counters ?? new ClusterCounters(config.name);
    this.endpoints = config.endpoints.map((e) => new UpstreamEndpoint(e, this.counters, config.connectTimeoutMs));
    this.balancer = createLoadBalancer(config.lbPolicy, this.endpoints);
  }

  /** An endpoint for the next attempt, avoiding `exclude` when another exists; null when the cluster has none (503 UH). */
  pick(exclude: UpstreamEndpoint | null): UpstreamEndpoint | null {
    return this.balancer.pick(exclude);
  }

  close(): void {
    for (const e of this.endpoints) e.close();
  }

  status(): ClusterStatus {
    return {
      cluster: this.name,
      endpoints: this.endpoints.map((e) => ({
        address: e.address,
        port: e.port,
        weight: e.weight,
        rqActive: e.rqActive,
        rqTotal: e.rqTotal,
        rqError: e.rqError,
        cxActive: e.cxActive,
      })),
    };
  }
}

/** Builds the clusters of a new config, reusing the previous runtime of every cluster whose definition did not change. */
export function reconcileClusters(
  previous: ReadonlyMap<string, UpstreamCluster>,
  configs: readonly Cluster[],
): Map<string, UpstreamCluster> {
  const next = new Map<string, UpstreamCluster>();
  for (const config of configs) {
    const fingerprint = JSON.stringify(config);
    const old = previous.get(config.name);
    if (old !== undefined && old.fingerprint === fingerprint) {
      next.set(config.name, old);
    } else {
      // Counters continue across a definition change, as Envoy's cluster stats do.
      next.set(config.name, new UpstreamCluster(config, fingerprint, old?.counters));
    }
  }
  for (const [name, old] of previous) {
    if (next.get(name) !== old) old.close();
  }
  return next;
}
