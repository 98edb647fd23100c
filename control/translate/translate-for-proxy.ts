// Istio-shaped config plus the registry, translated into the Envoy v3
// resources one proxy needs: clusters and their endpoints for every service
// in its Sidecar scope (and every cluster its routes name), the outbound
// listener and RouteConfiguration, and the inbound listener for its own
// service. Output is deterministic (sorted by name), so an unchanged input
// gives byte-identical resources and no push.
// A proxyless gRPC client (ProxyIdentity.proxyless) is translated by
// translate-proxyless.ts instead: api_listeners, no sidecar listeners.
import { tracingClusters } from './tracing-mesh.js';
import { resolveHost } from '../config/istio-fields.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { buildLoadAssignment, buildOutboundCluster, dnsServiceOf, serviceClusterNames } from './build-clusters.js';
import { buildInbound, buildOutboundListener } from './build-listeners.js';
import { buildOutboundTcpListeners } from './tcp-listeners.js';
import { buildOutboundRouteConfig } from './build-route-config.js';
import { parseOutboundClusterName } from './cluster-name.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { scopeServices } from './sidecar-scope.js';
import { translateGateway } from './translate-gateway.js';
import { proxylessClusterNames, translateProxyless, translateProxylessEndpoints } from './translate-proxyless.js';

export interface EnvoyResources {
  /** envoy.config.cluster.v3.Cluster, sorted by name. */
  readonly clusters: object[];
  /** envoy.config.endpoint.v3.ClusterLoadAssignment, one per EDS cluster, sorted by cluster_name. */
  readonly endpoints: object[];
  /** envoy.config.listener.v3.Listener, sorted by name. */
  readonly listeners: object[];
  /** envoy.config.route.v3.RouteConfiguration, sorted by name. */
  readonly routes: object[];
}

function byName(field: string): (a: object, b: object) => number {
  return (a, b) => {
    const x = (a as Record<string, string>)[field]!;
    const y = (b as Record<string, string>)[field]!;
    return x < y ? -1 : x > y ? 1 : 0;
  };
}

/** The sorted names of the EDS clusters a proxy uses: the clusters whose endpoints it is sent. */
export function outboundClusterNamesForProxy(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): string[] {
  if (proxy.proxyless === true) return proxylessClusterNames(proxy, config, registry);
  if (proxy.router === true) return translateGateway(proxy, config, registry).endpoints.map((e) => (e as { cluster_name: string }).cluster_name);
  return outboundClusters(proxy, config, registry).names;
}

function outboundClusters(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry) {
  const services = scopeServices(config.sidecarFor(proxy), registry.allServices());
  const routes = buildOutboundRouteConfig(services, proxy, config, registry);
  const tcp = buildOutboundTcpListeners(services, config);
  const names = new Set<string>([...routes.referencedClusters, ...tcp.referencedClusters]);
  for (const service of services) for (const name of serviceClusterNames(service, proxy, config)) names.add(name);
  return { names: [...names].sort(), routes, tcpListeners: tcp.listeners };
}

export function translateForProxy(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): EnvoyResources {
  // A proxyless gRPC client gets api_listeners per target name and no sidecar listeners.
  if (proxy.proxyless === true) return translateProxyless(proxy, config, registry);
  if (proxy.router === true) return translateGateway(proxy, config, registry);
  return withInbound(translateOutbound(proxy, config, registry), translateInbound(proxy, config, registry));
}

/**
 * The outbound part of a sidecar's resources: every cluster, endpoint and route, and the outbound listener. It
 * depends only on the proxy's namespace, labels and outbound port, so proxies that share those can share it.
 */
export function translateOutbound(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): EnvoyResources {
  const { names, routes, tcpListeners } = outboundClusters(proxy, config, registry);
  return {
    clusters: [...names.map((name) => buildOutboundCluster(name, proxy, config, registry)), ...tracingClusters(config.tracing)].sort(byName('name')),
    // DNS clusters carry their endpoints inline (names the proxy resolves): no ClusterLoadAssignment for them.
    endpoints: names.filter((name) => dnsServiceOf(name, registry) === undefined).map((name) => buildLoadAssignment(name, proxy, config, registry)),
    listeners: [buildOutboundListener(proxy, config, routes.usedFilters), ...tcpListeners].sort(byName('name')),
    routes: [routes.routeConfig],
  };
}

/** What a sidecar has of its own: the inbound listener and cluster for the service it fronts (none without one). */
export interface InboundResources {
  readonly listeners: readonly object[];
  readonly clusters: readonly object[];
}

export const NO_INBOUND: InboundResources = { listeners: [], clusters: [] };

export function translateInbound(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): InboundResources {
  if (proxy.proxyless === true || proxy.service === undefined) return NO_INBOUND;
  const inbound = buildInbound(proxy, registry.service(resolveHost(proxy.service, proxy.namespace)), config);
  return inbound === undefined ? NO_INBOUND : { listeners: [inbound.listener], clusters: inbound.clusters };
}

/** The outbound part plus a proxy's inbound part, sorted as translateForProxy sorts (the outbound lists are not copied when there is no inbound part). */
export function withInbound(outbound: EnvoyResources, inbound: InboundResources): EnvoyResources {
  if (inbound.listeners.length === 0 && inbound.clusters.length === 0) return outbound;
  return {
    clusters: inbound.clusters.length === 0 ? outbound.clusters : [...outbound.clusters, ...inbound.clusters].sort(byName('name')),
    endpoints: outbound.endpoints,
    listeners: inbound.listeners.length === 0 ? outbound.listeners : [...outbound.listeners, ...inbound.listeners].sort(byName('name')),
    routes: outbound.routes,
  };
}

/**
 * Only the ClusterLoadAssignments of the named clusters (an EDS-only push after an endpoint change); names that are
 * not outbound clusters are skipped. Sorted by cluster_name.
 */
export function translateEndpoints(
  proxy: ProxyIdentity, clusterNames: Iterable<string>, config: MeshConfig, registry: ServiceRegistry,
): object[] {
  if (proxy.proxyless === true) return translateProxylessEndpoints(proxy, clusterNames, config, registry);
  const names = [...new Set(clusterNames)].filter((n) => parseOutboundClusterName(n) !== undefined && dnsServiceOf(n, registry) === undefined).sort();
  return names.map((name) => buildLoadAssignment(name, proxy, config, registry));
}
