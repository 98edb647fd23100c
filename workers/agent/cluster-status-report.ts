// /clusters: every configured cluster and endpoint with its counters summed
// over the workers, as Envoy's admin prints them
// (`cluster::host:port::stat::value` lines, or JSON with ?format=json).
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import type { ClusterStatus, EndpointStatus } from '../worker-protocol.js';

interface MutableEndpoint {
  address: string;
  port: number;
  weight: number;
  rqActive: number;
  rqTotal: number;
  rqError: number;
  cxActive: number;
}

export interface MergedCluster {
  readonly cluster: string;
  readonly endpoints: readonly EndpointStatus[];
}

const ENDPOINT_STATS = [
  ['cx_active', 'cxActive'],
  ['rq_active', 'rqActive'],
  ['rq_total', 'rqTotal'],
  ['rq_error', 'rqError'],
] as const;

/** Takes the active bootstrap (so idle endpoints still show) and each worker's reply; returns sums per endpoint. */
export function mergeClusterStatus(bootstrap: Bootstrap | undefined, perWorker: readonly (readonly ClusterStatus[])[]): MergedCluster[] {
  const clusters = new Map<string, Map<string, MutableEndpoint>>();
  const endpointsOf = (name: string): Map<string, MutableEndpoint> => {
    let m = clusters.get(name);
    if (m === undefined) clusters.set(name, (m = new Map()));
    return m;
  };
  for (const c of bootstrap?.clusters ?? []) {
    const eps = endpointsOf(c.name);
    for (const e of c.endpoints) {
      eps.set(`${e.address}|${e.port}`, { address: e.address, port: e.port, weight: e.weight, rqActive: 0, rqTotal: 0, rqError: 0, cxActive: 0 });
    }
  }
  for (const reply of perWorker) {
    for (const c of reply) {
      const eps = endpointsOf(c.cluster);
      for (const e of c.endpoints) {
        const key = `${e.address}|${e.port}`;
        let into = eps.get(key);
        if (into === undefined) {
          into = { address: e.address, port: e.port, weight: e.weight, rqActive: 0, rqTotal: 0, rqError: 0, cxActive: 0 };
          eps.set(key, into);
        }
        for (const [, field] of ENDPOINT_STATS) into[field] += e[field];
      }
    }
  }
  return [...clusters.entries()].map(([cluster, eps]) => ({ cluster, endpoints: [...eps.values()] }));
}

function hostPort(e: EndpointStatus): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Envoy's text form: one `cluster::host:port::stat::value` line per stat. */
export function renderClustersText(clusters: readonly MergedCluster[]): string {
  let out = '';
  for (const c of clusters) {
    for (const e of c.endpoints) {
      const prefix = `${c.cluster}::${hostPort(e)}::`;
      for (const [stat, field] of ENDPOINT_STATS) out += `${prefix}${stat}::${e[field]}\n`;
      out += `${prefix}weight::${e.weight}\n`;
    }
  }
  return out;
}

/** Envoy's `/clusters?format=json` shape (cluster_statuses / host_statuses). */
export function clustersJson(clusters: readonly MergedCluster[]): unknown {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.cluster,
      host_statuses: c.endpoints.map((e) => ({
        address: { socket_address: { address: e.address, port_value: e.port } },
        stats: ENDPOINT_STATS.map(([name, field]) => ({ name, value: e[field] })),
        weight: e.weight,
      })),
    })),
  };
}
