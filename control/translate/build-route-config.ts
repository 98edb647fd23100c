// The outbound RouteConfiguration: one virtual host per HTTP service port,
// named `<host>:<port>` and answering to Istio's alternative names (the FQDN,
// `name.ns.svc`, `name.ns`, and the short name from the same namespace, each
// with and without the port). Our sidecar routes every service on one
// listener by Host, so a name without a port belongs to the service's lowest
// HTTP port, and a domain already taken by an earlier host is not repeated.
import type { RegistryService } from '../registry/registry-types.js';
import { buildPortVirtualHosts } from './port-virtual-hosts.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import type { ServiceRegistry } from '../registry/service-registry.js';

export const OUTBOUND_ROUTE_NAME = 'outbound';

const KUBERNETES_HOST = /^([^.]+)\.([^.]+)\.svc\.cluster\.local$/;

/** Names a proxy in proxyNamespace may use for a host, without ports (Istio's generateAltVirtualHosts). */
export function hostAliases(service: RegistryService, proxyNamespace: string): string[] {
  const names = [service.host];
  const k8s = KUBERNETES_HOST.exec(service.host);
  if (k8s !== null) {
    const [, name, ns] = k8s;
    names.push(`${name}.${ns}.svc`, `${name}.${ns}`);
    if (ns === proxyNamespace) names.push(name!);
  }
  names.push(...service.addresses);
  return names;
}

export interface RouteBuildResult {
  readonly routeConfig: object;
  /** Every cluster a route or mirror names (may include hosts outside the proxy's scope). */
  readonly referencedClusters: ReadonlySet<string>;
  /** HTTP filters the routes configure per route (fault, cors): the listener must have them. */
  readonly usedFilters: ReadonlySet<string>;
}

export function buildOutboundRouteConfig(
  services: readonly RegistryService[], proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry,
): RouteBuildResult {
  const referencedClusters = new Set<string>();
  const usedFilters = new Set<string>();
  const hosts = buildPortVirtualHosts(services, proxy, config, registry, referencedClusters, {
    names: (service) => hostAliases(service, proxy.namespace),
  });
  const virtualHosts = hosts.map((v) => {
    for (const f of v.usedFilters) usedFilters.add(f);
    return { name: `${v.host}:${v.port}`, domains: v.domains, routes: v.routes };
  });
  return {
    routeConfig: { name: OUTBOUND_ROUTE_NAME, virtual_hosts: virtualHosts },
    referencedClusters,
    usedFilters,
  };
}
