// The health of a cluster's endpoints as every worker sees it. Outlier
// detection (any worker) and active health checks (the agent) write it in the
// proxy's shared memory; balancers read it and rebuild their host sets when
// the epoch moves, as Envoy rebuilds a priority set on a health change.

export interface ClusterHealthView {
  /** Moves whenever any endpoint of the cluster changes health. One atomic load; call it per pick. */
  epoch(): number;
  /** Endpoint `index` (its index in cluster.config.endpoints) may get traffic: not failed an active health check, not ejected. */
  healthy(index: number): boolean;
}

/** For clusters with no shared state (unit tests of balancers): every endpoint healthy, forever. */
export const ALWAYS_HEALTHY: ClusterHealthView = {
  epoch: () => 0,
  healthy: () => true,
};
