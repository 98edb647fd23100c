import { DEFAULT_HTTP2_OPTIONS } from '../../src/config/http2-options.js';
// Builders for clusters as the config readers produce them, and the
// expected-value fields every endpoint, route and listener gets when the
// config leaves the resilience features out. The defaults are the readers'
// own constants; cluster-resilience.test.ts pins them to Envoy's numbers.
import type { Cluster, Endpoint, HttpFilters, PerFilterConfig } from '../../src/config/bootstrap-types.js';
import { DEFAULT_CIRCUIT_BREAKERS, DEFAULT_CONNECT_TIMEOUT_MS } from '../../src/config/cluster.js';
import { DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS } from '../../src/config/common-http-options.js';
import { DEFAULT_LB_FIELDS } from '../../src/config/lb-config.js';
import { DEFAULT_OVERPROVISIONING_FACTOR } from '../../src/config/load-assignment.js';

/** What readCluster fills in for a cluster without lb/circuit-breaker/outlier/health-check fields. */
export const CLUSTER_DEFAULTS: Omit<Cluster, 'name' | 'type' | 'connectTimeoutMs' | 'endpoints' | 'stateSlot'> = {
  tls: null,
  ...DEFAULT_LB_FIELDS,
  circuitBreakers: DEFAULT_CIRCUIT_BREAKERS,
  outlierDetection: null,
  healthCheck: null,
  overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR,
  upstreamProtocol: 'HTTP1',
  upstreamHttp2: DEFAULT_HTTP2_OPTIONS,
  upstreamIdleTimeoutMs: DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  maxRequestsPerConnection: 0,
};

/** A STATIC cluster as parsed, defaults filled in; `fields` overrides any of them. */
export function expectedCluster(fields: Partial<Cluster> & Pick<Cluster, 'name' | 'endpoints'>): Cluster {
  return { type: 'STATIC', dns: null, connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, ...CLUSTER_DEFAULTS, ...fields };
}

/** An endpoint without locality or priority. */
export function expectedEndpoint(address: string, port: number, weight = 1): Endpoint {
  return { address, port, weight, locality: { region: '', zone: '', subZone: '' }, priority: 0 };
}

/** A cluster of 127.0.0.1 endpoints on `ports`, defaults filled in; `over` overrides any field. */
export function testCluster(name: string, ports: readonly number[], over: Partial<Cluster> = {}): Cluster {
  return expectedCluster({ name, endpoints: ports.map((port) => expectedEndpoint('127.0.0.1', port)), ...over });
}

export const NO_FILTER_CONFIG: PerFilterConfig = { fault: null, cors: null, localRateLimit: null };
export const ROUTER_ONLY: HttpFilters = { fault: null, cors: false, localRateLimit: null, compressors: [], order: [] };
/** RouteAction fields a route without hash or mirror policies (or upgrade_configs, rate_limits) gets. */
export const NO_HASH_OR_MIRROR = { hashPolicy: [], requestMirrorPolicies: [], upgrades: [], rateLimits: [] } as const;
/** RetryPolicy fields a policy without retry_host_predicate gets. */
export const RETRY_HOST_DEFAULTS = { previousHostsPredicate: false, hostSelectionRetryMaxAttempts: 1 } as const;
