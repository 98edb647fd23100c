// Cluster configs for balancer unit tests (built as the config readers would
// fill them from YAML), and a health view the test flips at will.
import type { Cluster, Endpoint, LbPolicy } from '../../../src/config/bootstrap-types.js';
import type { ClusterHealthView } from '../../../workers/cluster-health-view.js';
import { bindClusterState } from '../../../workers/shared-state/cluster-binding.js';
import { UpstreamCluster } from '../../../workers/upstream-cluster.js';
import type { UpstreamEndpoint } from '../../../workers/upstream-endpoint.js';
import { expectedCluster, expectedEndpoint } from '../../support/bootstrap-defaults.js';

export interface EndpointSpec {
  readonly port: number;
  readonly weight?: number;
  readonly priority?: number;
}

/** A cluster named 'c' of 127.0.0.1 endpoints (a port alone: weight 1, priority 0), defaults filled in. */
export function clusterConfig(policy: LbPolicy, endpoints: readonly (number | EndpointSpec)[], extra: Partial<Cluster> = {}): Cluster {
  return expectedCluster({
    name: 'c',
    lbPolicy: policy,
    endpoints: endpoints.map((s): Endpoint => {
      const spec = typeof s === 'number' ? { port: s } : s;
      return { ...expectedEndpoint('127.0.0.1', spec.port, spec.weight), priority: spec.priority ?? 0 };
    }),
    ...extra,
  });
}

/** A health view whose flags and epoch the test sets (what outlier detection / health checks write in shared memory). */
export class FakeHealth implements ClusterHealthView {
  private e = 0;
  private readonly down = new Set<number>();

  epoch(): number {
    return this.e;
  }

  healthy(index: number): boolean {
    return !this.down.has(index);
  }

  set(index: number, healthy: boolean): void {
    if (healthy) this.down.delete(index);
    else this.down.add(index);
    this.e++;
  }
}

/** A cluster built from `config` with `health` as its health view (the binding's other records are private ones). */
export function clusterWith(config: Cluster, health?: ClusterHealthView): UpstreamCluster {
  const binding = bindClusterState(config, null);
  return new UpstreamCluster(config, JSON.stringify(config), undefined, health === undefined ? binding : { ...binding, health });
}

export function endpointsOf(policy: LbPolicy, ports: readonly (number | EndpointSpec)[], extra: Partial<Cluster> = {}): readonly UpstreamEndpoint[] {
  return new UpstreamCluster(clusterConfig(policy, ports, extra), '').endpoints;
}

export function countPicks(n: number, pick: () => UpstreamEndpoint | null): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const e = pick();
    if (e === null) throw new Error('no endpoint');
    counts.set(e.port, (counts.get(e.port) ?? 0) + 1);
  }
  return counts;
}

export function ports(n: number, from = 10_000): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}
