// What a proxyless gRPC client (a node whose metadata says GENERATOR=grpc,
// Istio's convention) is sent: api_listeners and RouteConfigurations per
// service port (build-proxyless.ts), and the same Istio-named EDS clusters and
// ClusterLoadAssignments a sidecar gets, adjusted to what gRPC accepts:
// - lb_policy: gRPC implements ROUND_ROBIN and RING_HASH only (any other value
//   is a NACK), so LEAST_REQUEST, RANDOM and the rest become ROUND_ROBIN;
// - every LocalityLbEndpoints has a `locality` (grpc-js NACKs one without) and
//   a `load_balancing_weight` (gRPC skips a locality without one: its endpoints
//   would never be used), the sum of its endpoints' weights as Istio sets it;
// - an address appears once per ClusterLoadAssignment (a duplicate is a NACK).
// - mTLS through certificate provider instances, never SDS (proxyless-tls.ts):
//   a cluster whose DestinationRule says ISTIO_MUTUAL, and the server Listener
//   of a node that announces its port (APP_PORT) when its PeerAuthentication
//   is STRICT.
// No inbound or outbound sidecar listener: there is no proxy to listen. A
// proxyless server (XdsServer) gets the Listener named by Istio's template for
// the address it binds.
import type { ServiceRegistry } from '../registry/service-registry.js';
import { buildLoadAssignment, buildOutboundCluster, proxylessMtlsPeer, serviceClusterNames } from './build-clusters.js';
import { proxylessServerListener, proxylessUpstreamTls } from './proxyless-tls.js';
import { buildProxylessListeners, type ProxylessListenersResult } from './build-proxyless.js';
import { parseOutboundClusterName } from './cluster-name.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { scopeServices } from './sidecar-scope.js';
import type { EnvoyResources } from './translate-for-proxy.js';

const GRPC_LB_POLICIES = new Set(['ROUND_ROBIN', 'RING_HASH']);

function proxylessClusters(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): {
  names: string[]; built: ProxylessListenersResult;
} {
  const services = scopeServices(config.sidecarFor(proxy), registry.allServices());
  const built = buildProxylessListeners(services, proxy, config, registry);
  const names = new Set<string>(built.referencedClusters);
  for (const service of services) for (const name of serviceClusterNames(service, proxy, config)) names.add(name);
  return { names: [...names].sort(), built };
}

/** The sorted names of the EDS clusters a proxyless client is sent. */
export function proxylessClusterNames(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): string[] {
  return proxylessClusters(proxy, config, registry).names;
}

/** An outbound cluster with an lb_policy gRPC implements. */
export function buildProxylessCluster(name: string, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): object {
  const cluster = buildOutboundCluster(name, proxy, config, registry) as Record<string, unknown>;
  if (!GRPC_LB_POLICIES.has(cluster.lb_policy as string)) cluster.lb_policy = 'ROUND_ROBIN';
  // A sidecar's SDS socket means nothing to gRPC (a NACK): certificate providers instead, or plaintext.
  delete cluster.transport_socket;
  const peer = proxylessMtlsPeer(name, proxy, config, registry);
  if (peer !== undefined) cluster.transport_socket = proxylessUpstreamTls(peer.sni, peer.peerIds);
  return cluster;
}

type LbEndpoint = { endpoint: { address: { socket_address: { address: string; port_value: number } } }; load_balancing_weight?: { value: number } };
type LocalityGroup = { locality?: object; lb_endpoints: LbEndpoint[] };

/** A ClusterLoadAssignment every locality of which gRPC will use (see the file comment). */
export function buildProxylessLoadAssignment(name: string, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): object {
  const cla = buildLoadAssignment(name, proxy, config, registry) as { cluster_name: string; endpoints: LocalityGroup[] };
  const seen = new Set<string>();
  const endpoints: object[] = [];
  for (const group of cla.endpoints) {
    const lbEndpoints = group.lb_endpoints.filter((e) => {
      const key = `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    if (lbEndpoints.length === 0) continue;
    let weight = 0;
    for (const e of lbEndpoints) weight += e.load_balancing_weight?.value ?? 1;
    endpoints.push({ locality: group.locality ?? {}, lb_endpoints: lbEndpoints, load_balancing_weight: { value: weight } });
  }
  return { cluster_name: cla.cluster_name, endpoints };
}

function byName(a: object, b: object): number {
  const x = (a as { name: string }).name;
  const y = (b as { name: string }).name;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A proxyless server's Listeners: its port on the address it announced and on the wildcard address. */
function proxylessServerListeners(proxy: ProxyIdentity, config: MeshConfig): object[] {
  if (proxy.appPort === undefined) return [];
  const mtls = config.mtlsModeFor(proxy, proxy.appPort) === 'STRICT';
  const addresses = [...new Set([proxy.address ?? '127.0.0.1', '0.0.0.0'])];
  return addresses.map((address) => proxylessServerListener(address, proxy.appPort!, mtls));
}

/** Every resource a proxyless client needs; deterministic (sorted), as translateForProxy. */
export function translateProxyless(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): EnvoyResources {
  const { names, built } = proxylessClusters(proxy, config, registry);
  return {
    clusters: names.map((name) => buildProxylessCluster(name, proxy, config, registry)),
    endpoints: names.map((name) => buildProxylessLoadAssignment(name, proxy, config, registry)),
    listeners: [...built.listeners, ...proxylessServerListeners(proxy, config)].sort(byName),
    routes: built.routes,
  };
}

/** The ClusterLoadAssignments of the named outbound clusters (an EDS-only push), sorted by cluster_name. */
export function translateProxylessEndpoints(
  proxy: ProxyIdentity, clusterNames: Iterable<string>, config: MeshConfig, registry: ServiceRegistry,
): object[] {
  const names = [...new Set(clusterNames)].filter((n) => parseOutboundClusterName(n) !== undefined).sort();
  return names.map((name) => buildProxylessLoadAssignment(name, proxy, config, registry));
}
