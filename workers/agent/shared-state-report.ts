// What the admin API shows from the proxy's shared state: per cluster the
// circuit-breaker, outlier-detection and health-check stats for
// /stats/prometheus, per endpoint its Envoy health flags for /clusters.
import type { Bootstrap, Cluster } from '../../src/config/bootstrap-types.js';
import type { ClusterResilienceStats } from '../../src/stats/cluster-resilience-stats.js';
import { compareStrings } from '../../src/stats/sum-by-key.js';
import { CLUSTER, ENDPOINT, HEALTH, type SharedState } from '../shared-state/state-layout.js';
import type { HealthCheckStats } from './health-checker.js';

function remaining(limit: number, used: number): number {
  return Math.max(0, limit - used);
}

/** Active retries allowed now (max_retries, or the retry budget's share of active + pending requests). */
function retryLimit(c: Cluster, active: number, pending: number): number {
  const budget = c.circuitBreakers.retryBudget;
  if (budget === null) return c.circuitBreakers.maxRetries;
  return Math.max(budget.minRetryConcurrency, Math.floor((budget.budgetPercent / 100) * (active + pending)));
}

/** One entry per cluster of the active config that has a slot, sorted by name. */
export function resilienceStats(bootstrap: Bootstrap | undefined, state: SharedState, healthChecks: ReadonlyMap<string, HealthCheckStats>): ClusterResilienceStats[] {
  const out: ClusterResilienceStats[] = [];
  for (const c of bootstrap?.clusters ?? []) {
    if (c.stateSlot === undefined) continue;
    const base = state.clusterBase(c.stateSlot);
    const f = (field: number): number => Math.max(0, Atomics.load(state.ints, base + field));
    const cb = c.circuitBreakers;
    const cx = f(CLUSTER.CX_ACTIVE);
    const pending = f(CLUSTER.RQ_PENDING);
    const active = f(CLUSTER.RQ_ACTIVE);
    const retries = f(CLUSTER.RETRY_ACTIVE);
    const retryMax = retryLimit(c, active, pending);
    const hc = healthChecks.get(c.name);
    const enforced5xx = f(CLUSTER.EJECTIONS_ENFORCED_5XX);
    const enforcedGateway = f(CLUSTER.EJECTIONS_ENFORCED_GATEWAY);
    const enforcedSuccessRate = f(CLUSTER.EJECTIONS_ENFORCED_SUCCESS_RATE);
    out.push({
      cluster: c.name,
      upstreamRqPendingOverflow: f(CLUSTER.RQ_PENDING_OVERFLOW),
      upstreamCxOverflow: f(CLUSTER.CX_OVERFLOW),
      upstreamRqRetryOverflow: f(CLUSTER.RETRY_OVERFLOW),
      upstreamRqPendingActive: pending,
      cxOpen: cx >= cb.maxConnections ? 1 : 0,
      rqPendingOpen: pending >= cb.maxPendingRequests ? 1 : 0,
      rqOpen: active >= cb.maxRequests ? 1 : 0,
      rqRetryOpen: retries >= retryMax ? 1 : 0,
      remainingCx: remaining(cb.maxConnections, cx),
      remainingPending: remaining(cb.maxPendingRequests, pending),
      remainingRq: remaining(cb.maxRequests, active),
      remainingRetries: remaining(retryMax, retries),
      ejectionsActive: f(CLUSTER.EJECTED),
      ejectionsOverflow: f(CLUSTER.EJECTIONS_OVERFLOW),
      ejectionsEnforcedTotal: enforced5xx + enforcedGateway + enforcedSuccessRate,
      ejectionsDetectedConsecutive5xx: f(CLUSTER.EJECTIONS_DETECTED_5XX),
      ejectionsEnforcedConsecutive5xx: enforced5xx,
      ejectionsDetectedConsecutiveGatewayFailure: f(CLUSTER.EJECTIONS_DETECTED_GATEWAY),
      ejectionsEnforcedConsecutiveGatewayFailure: enforcedGateway,
      ejectionsDetectedSuccessRate: f(CLUSTER.EJECTIONS_DETECTED_SUCCESS_RATE),
      ejectionsEnforcedSuccessRate: enforcedSuccessRate,
      healthCheck: c.healthCheck === null || hc === undefined ? null : { ...hc, healthy: passingActiveChecks(c, state) },
    });
  }
  return out.sort((a, b) => compareStrings(a.cluster, b.cluster));
}

/** Endpoints of c with a slot whose active health checks pass now (neither failed nor still pending). */
function passingActiveChecks(c: Cluster, state: SharedState): number {
  let n = 0;
  for (const e of c.endpoints) {
    if (e.stateSlot === undefined) continue;
    const flags = Atomics.load(state.ints, state.endpointBase(e.stateSlot) + ENDPOINT.FLAGS);
    if ((flags & (HEALTH.FAILED_ACTIVE_HC | HEALTH.PENDING_ACTIVE_HC)) === 0) n++;
  }
  return n;
}

/** Looks up endpoints' health flag words (0 = healthy; HEALTH bits; 0 for an endpoint with no slot) in one pass over the config. */
export function endpointFlagsLookup(bootstrap: Bootstrap | undefined, state: SharedState): (cluster: string, address: string, port: number) => number {
  const slots = new Map<string, number>();
  for (const c of bootstrap?.clusters ?? []) {
    for (const e of c.endpoints) if (e.stateSlot !== undefined) slots.set(`${c.name}\u0000${e.address}\u0000${e.port}`, e.stateSlot);
  }
  return (cluster, address, port) => {
    const slot = slots.get(`${cluster}\u0000${address}\u0000${port}`);
    return slot === undefined ? 0 : Atomics.load(state.ints, state.endpointBase(slot) + ENDPOINT.FLAGS);
  };
}
