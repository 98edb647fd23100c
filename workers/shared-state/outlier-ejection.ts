// Ejecting and returning an endpoint in the shared state, the same steps
// whichever thread decides it (the worker whose failure reaches a consecutive
// threshold, or the agent's success-rate sweep), as Envoy's ejectHost and
// unejectHost do them: max_ejection_percent, the enforcing_* roll, the flag
// set by compare-and-swap so two workers never eject one endpoint twice, the
// cluster's ejected count and health epoch, and the detected/enforced stats.
import { CLUSTER, EJECTION_KIND, ENDPOINT, HEALTH, signalHealthChange } from './state-layout.js';

const DETECTED = [CLUSTER.EJECTIONS_DETECTED_5XX, CLUSTER.EJECTIONS_DETECTED_GATEWAY, CLUSTER.EJECTIONS_DETECTED_SUCCESS_RATE];
const ENFORCED = [CLUSTER.EJECTIONS_ENFORCED_5XX, CLUSTER.EJECTIONS_ENFORCED_GATEWAY, CLUSTER.EJECTIONS_ENFORCED_SUCCESS_RATE];

export interface EjectionRequest {
  readonly ints: Int32Array;
  readonly clusterBase: number;
  readonly endpointBase: number;
  /** Endpoints in the cluster (the denominator of max_ejection_percent). */
  readonly endpointCount: number;
  readonly maxEjectionPercent: number;
  /** The enforcing_* percentage of this kind. */
  readonly enforcingPercent: number;
  readonly kind: number;
}

export const EjectionResult = {
  EJECTED: 0,
  ALREADY_EJECTED: 1,
  /** max_ejection_percent reached (ejections_overflow). */
  OVERFLOW: 2,
  /** Detected, but the enforcing_* roll said no. */
  NOT_ENFORCED: 3,
} as const;

/**
 * Envoy (since 1.27): an ejection happens only if the ejected share after it
 * stays within max_ejection_percent, so with 10% and fewer than 10 endpoints
 * nothing is ejected (`always_eject_one_host` is not modelled).
 */
export function tryEject(r: EjectionRequest, random: () => number = Math.random): number {
  const ints = r.ints;
  if ((Atomics.load(ints, r.endpointBase + ENDPOINT.FLAGS) & HEALTH.FAILED_OUTLIER_CHECK) !== 0) return EjectionResult.ALREADY_EJECTED;
  const ejectedAt = r.clusterBase + CLUSTER.EJECTED;
  // Reserve a place in the ejected count first, so concurrent ejections in other workers see it.
  for (;;) {
    const ejected = Atomics.load(ints, ejectedAt);
    if ((100 * (ejected + 1)) / r.endpointCount > r.maxEjectionPercent) {
      Atomics.add(ints, r.clusterBase + CLUSTER.EJECTIONS_OVERFLOW, 1);
      return EjectionResult.OVERFLOW;
    }
    if (Atomics.compareExchange(ints, ejectedAt, ejected, ejected + 1) === ejected) break;
  }
  Atomics.add(ints, r.clusterBase + DETECTED[r.kind]!, 1);
  if (!(random() * 100 < r.enforcingPercent)) {
    Atomics.sub(ints, ejectedAt, 1);
    return EjectionResult.NOT_ENFORCED;
  }
  const flagsAt = r.endpointBase + ENDPOINT.FLAGS;
  for (;;) {
    const flags = Atomics.load(ints, flagsAt);
    if ((flags & HEALTH.FAILED_OUTLIER_CHECK) !== 0) {
      Atomics.sub(ints, ejectedAt, 1);
      return EjectionResult.ALREADY_EJECTED;
    }
    if (Atomics.compareExchange(ints, flagsAt, flags, flags | HEALTH.FAILED_OUTLIER_CHECK) === flags) break;
  }
  Atomics.add(ints, r.clusterBase + ENFORCED[r.kind]!, 1);
  Atomics.add(ints, r.clusterBase + CLUSTER.HEALTH_EPOCH, 1);
  signalHealthChange(ints);
  return EjectionResult.EJECTED;
}

/** Brings an ejected endpoint back (agent only); false when it was not ejected. */
export function uneject(ints: Int32Array, clusterBase: number, endpointBase: number): boolean {
  const flagsAt = endpointBase + ENDPOINT.FLAGS;
  const before = Atomics.and(ints, flagsAt, ~HEALTH.FAILED_OUTLIER_CHECK);
  if ((before & HEALTH.FAILED_OUTLIER_CHECK) === 0) return false;
  Atomics.store(ints, endpointBase + ENDPOINT.CONSECUTIVE_5XX, 0);
  Atomics.store(ints, endpointBase + ENDPOINT.CONSECUTIVE_GATEWAY, 0);
  Atomics.sub(ints, clusterBase + CLUSTER.EJECTED, 1);
  Atomics.add(ints, clusterBase + CLUSTER.HEALTH_EPOCH, 1);
  signalHealthChange(ints);
  return true;
}

export { EJECTION_KIND };
