// Expected-value builders for tests that compare whole parsed objects: the
// fields every cluster, endpoint, route and listener gets when the config
// leaves the resilience features out (Envoy's defaults).
import type { Cluster, Endpoint, HttpFilters, PerFilterConfig } from '../../src/config/bootstrap-types.js';

/** What readCluster fills in for a cluster without lb/circuit-breaker/outlier/health-check fields. */
export const CLUSTER_DEFAULTS = {
  lbPolicy: 'ROUND_ROBIN',
  ringHash: { minRingSize: 1024, maxRingSize: 8_388_608 },
  maglevTableSize: 65_537,
  peakEwmaDecayMs: 10_000,
  circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: null },
  outlierDetection: null,
  healthCheck: null,
  healthyPanicThresholdPercent: 50,
  overprovisioningFactor: 140,
} as const satisfies Partial<Cluster>;

/** A STATIC cluster as parsed, defaults filled in; `fields` overrides any of them. */
export function expectedCluster(fields: Partial<Cluster> & Pick<Cluster, 'name' | 'endpoints'>): Cluster {
  return { type: 'STATIC', connectTimeoutMs: 5_000, ...CLUSTER_DEFAULTS, ...fields };
}

/** An endpoint without locality or priority. */
export function expectedEndpoint(address: string, port: number, weight = 1): Endpoint {
  return { address, port, weight, locality: { region: '', zone: '', subZone: '' }, priority: 0 };
}

export const NO_FILTER_CONFIG: PerFilterConfig = { fault: null, cors: null };
export const ROUTER_ONLY: HttpFilters = { fault: null, cors: false };
/** RouteAction fields a route without hash or mirror policies gets. */
export const NO_HASH_OR_MIRROR = { hashPolicy: [], requestMirrorPolicies: [] } as const;
/** RetryPolicy fields a policy without retry_host_predicate gets. */
export const RETRY_HOST_DEFAULTS = { previousHostsPredicate: false, hostSelectionRetryMaxAttempts: 1 } as const;
