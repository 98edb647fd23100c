// /clusters: every configured cluster and endpoint with its counters summed
// over the workers, as Envoy's admin prints them
// (`cluster::host:port::stat::value` lines, or JSON with ?format=json).
import type { Bootstrap, CircuitBreakers, Locality } from '../../src/config/bootstrap-types.js';
import { HEALTH, healthFlagsText } from '../shared-state/state-layout.js';
import type { ClusterStatus, EndpointStatus } from '../worker-protocol.js';

interface MutableEndpoint {
  address: string;
  port: number;
  weight: number;
  rqActive: number;
  rqTotal: number;
  rqError: number;
  cxActive: number;
  locality: Locality;
  priority: number;
  healthFlags: number;
  /** Endpoint.hostname or the DNS name it was resolved from ('' when neither). */
  hostname: string;
}

const NO_LOCALITY: Locality = { region: '', zone: '', subZone: '' };

/** An endpoint with its counters at zero. */
function zeroEndpoint(e: { address: string; port: number; weight: number; hostname?: string }, locality: Locality, priority: number, healthFlags: number): MutableEndpoint {
  return { address: e.address, port: e.port, weight: e.weight, rqActive: 0, rqTotal: 0, rqError: 0, cxActive: 0, locality, priority, healthFlags, hostname: e.hostname ?? '' };
}

/** An endpoint's summed counters plus where the config places it (locality, priority). */
export interface MergedEndpoint extends EndpointStatus {
  readonly locality: Locality;
  readonly priority: number;
  /** Shared-state HEALTH bits (0: healthy). */
  readonly healthFlags: number;
  readonly hostname: string;
}

export interface MergedCluster {
  readonly cluster: string;
  readonly endpoints: readonly MergedEndpoint[];
  /** circuit_breakers thresholds (DEFAULT priority); null for a cluster no longer in the config. */
  readonly thresholds: CircuitBreakers | null;
}

const ENDPOINT_STATS = [
  ['cx_active', 'cxActive'],
  ['rq_active', 'rqActive'],
  ['rq_total', 'rqTotal'],
  ['rq_error', 'rqError'],
] as const;

/** Takes the active bootstrap (so idle endpoints still show) and each worker's reply; returns sums per endpoint. */
export function mergeClusterStatus(
  bootstrap: Bootstrap | undefined,
  perWorker: readonly (readonly ClusterStatus[])[],
  /** An endpoint's health bits from the shared state. */
  healthOf: (cluster: string, address: string, port: number) => number = () => 0,
): MergedCluster[] {
  const clusters = new Map<string, Map<string, MutableEndpoint>>();
  const endpointsOf = (name: string): Map<string, MutableEndpoint> => {
    let m = clusters.get(name);
    if (m === undefined) clusters.set(name, (m = new Map()));
    return m;
  };
  for (const c of bootstrap?.clusters ?? []) {
    const eps = endpointsOf(c.name);
    for (const e of c.endpoints) {
      eps.set(`${e.address}|${e.port}`, zeroEndpoint(e, e.locality ?? NO_LOCALITY, e.priority ?? 0, healthOf(c.name, e.address, e.port)));
    }
  }
  for (const reply of perWorker) {
    for (const c of reply) {
      const eps = endpointsOf(c.cluster);
      for (const e of c.endpoints) {
        const key = `${e.address}|${e.port}`;
        let into = eps.get(key);
        if (into === undefined) {
          into = zeroEndpoint(e, NO_LOCALITY, 0, 0);
          eps.set(key, into);
        }
        for (const [, field] of ENDPOINT_STATS) into[field] += e[field];
      }
    }
  }
  const thresholds = new Map((bootstrap?.clusters ?? []).map((c) => [c.name, c.circuitBreakers]));
  return [...clusters.entries()].map(([cluster, eps]) => ({ cluster, endpoints: [...eps.values()], thresholds: thresholds.get(cluster) ?? null }));
}

function hostPort(e: EndpointStatus): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Envoy's text form: one `cluster::host:port::stat::value` line per stat. */
export function renderClustersText(clusters: readonly MergedCluster[]): string {
  let out = '';
  for (const c of clusters) {
    const t = c.thresholds;
    if (t !== null) {
      out += `${c.cluster}::default_priority::max_connections::${t.maxConnections}\n${c.cluster}::default_priority::max_pending_requests::${t.maxPendingRequests}\n`;
      out += `${c.cluster}::default_priority::max_requests::${t.maxRequests}\n${c.cluster}::default_priority::max_retries::${t.maxRetries}\n`;
    }
    for (const e of c.endpoints) {
      const prefix = `${c.cluster}::${hostPort(e)}::`;
      out += `${prefix}hostname::${e.hostname}\n`;
      out += `${prefix}health_flags::${healthFlagsText(e.healthFlags)}\n`;
      for (const [stat, field] of ENDPOINT_STATS) out += `${prefix}${stat}::${e[field]}\n`;
      out += `${prefix}weight::${e.weight}\n`;
      out += `${prefix}region::${e.locality.region}\n${prefix}zone::${e.locality.zone}\n${prefix}sub_zone::${e.locality.subZone}\n`;
      out += `${prefix}priority::${e.priority}\n`;
    }
  }
  return out;
}

/** Envoy's `/clusters?format=json` shape (cluster_statuses / host_statuses). */
export function clustersJson(clusters: readonly MergedCluster[]): unknown {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.cluster,
      ...(c.thresholds === null ? {} : { circuit_breakers: { thresholds: [thresholdsJson(c.thresholds)] } }),
      host_statuses: c.endpoints.map((e) => ({
        health_status: healthStatusJson(e.healthFlags),
        address: { socket_address: { address: e.address, port_value: e.port } },
        ...(e.hostname === '' ? {} : { hostname: e.hostname }),
        stats: ENDPOINT_STATS.map(([name, field]) => ({ name, value: e[field] })),
        weight: e.weight,
        locality: { region: e.locality.region, zone: e.locality.zone, sub_zone: e.locality.subZone },
        priority: e.priority,
      })),
    })),
  };
}

/** Envoy's circuit_breakers.thresholds entry (DEFAULT priority), with retry_budget when set. */
function thresholdsJson(t: CircuitBreakers): Record<string, unknown> {
  return {
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
    ...(t.retryBudget === null
      ? {}
      : { retry_budget: { budget_percent: { value: t.retryBudget.budgetPercent }, min_retry_concurrency: t.retryBudget.minRetryConcurrency } }),
  };
}

/** Envoy's admin HostHealthStatus: only the flags that are set, and eds_health_status. */
function healthStatusJson(flags: number): Record<string, unknown> {
  return {
    ...((flags & HEALTH.FAILED_ACTIVE_HC) !== 0 ? { failed_active_health_check: true } : {}),
    ...((flags & HEALTH.FAILED_OUTLIER_CHECK) !== 0 ? { failed_outlier_check: true } : {}),
    ...((flags & HEALTH.PENDING_ACTIVE_HC) !== 0 ? { pending_active_hc: true } : {}),
    eds_health_status: 'HEALTHY',
  };
}
