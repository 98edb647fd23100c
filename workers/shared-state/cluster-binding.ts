// Binds one cluster's config to its records in the shared state (or to
// private records when it has no slots): the circuit breakers, each
// endpoint's health and outlier counters, and the ClusterHealthView the
// balancers read. Built once per cluster config in each worker.
import type { Cluster } from '../../src/config/bootstrap-types.js';
import type { ClusterHealthView } from '../cluster-health-view.js';
import { ClusterState } from './cluster-state.js';
import { EndpointState } from './endpoint-state.js';
import { CLUSTER, ENDPOINT, HEALTH, RECORD_INTS, privateClusterRecords, type SharedState } from './state-layout.js';

const UNHEALTHY = HEALTH.FAILED_ACTIVE_HC | HEALTH.FAILED_OUTLIER_CHECK | HEALTH.PENDING_ACTIVE_HC;

/** Health as every worker sees it: one atomic load per question. */
export class SharedClusterHealth implements ClusterHealthView {
  constructor(
    private readonly ints: Int32Array,
    private readonly epochAt: number,
    /** Index of endpoint i's FLAGS word in `ints`. */
    private readonly flagsAt: Int32Array,
  ) {}

  epoch(): number {
    return Atomics.load(this.ints, this.epochAt);
  }

  healthy(index: number): boolean {
    return (Atomics.load(this.ints, this.flagsAt[index]!) & UNHEALTHY) === 0;
  }
}

/** A cluster's records as one worker uses them. */
export interface ClusterBinding {
  /** Circuit breakers and cluster counters. */
  readonly cluster: ClusterState;
  /** Health and outlier counters, in config.endpoints order. */
  readonly endpoints: readonly EndpointState[];
  readonly health: ClusterHealthView;
}

/**
 * Takes a cluster config (with the agent's stateSlot numbers, or without), the proxy's shared state (null: private
 * records, for unit tests) and the id of the worker binding it (its holdings; -1: none, e.g. the agent).
 */
export function bindClusterState(config: Cluster, shared: SharedState | null, workerId = -1): ClusterBinding {
  const n = config.endpoints.length;
  const slotted = shared !== null && config.stateSlot !== undefined && config.endpoints.every((e) => e.stateSlot !== undefined);
  const ints = slotted ? shared.ints : privateClusterRecords(n);
  const clusterBase = slotted ? shared.clusterBase(config.stateSlot!) : 0;
  const holdings = slotted && workerId >= 0 && workerId < shared.workerCapacity;
  const cluster = holdings
    ? new ClusterState(ints, clusterBase, config.circuitBreakers, ints, shared.holdingBase(workerId, config.stateSlot!))
    : new ClusterState(ints, clusterBase, config.circuitBreakers);
  const flagsAt = new Int32Array(n);
  const endpoints = config.endpoints.map((e, i) => {
    const base = slotted ? shared.endpointBase(e.stateSlot!) : RECORD_INTS * (1 + i);
    flagsAt[i] = base + ENDPOINT.FLAGS;
    return new EndpointState(ints, base, cluster, config.outlierDetection, n, config.name, e.address, e.port);
  });
  return { cluster, endpoints, health: new SharedClusterHealth(ints, clusterBase + CLUSTER.HEALTH_EPOCH, flagsAt) };
}
