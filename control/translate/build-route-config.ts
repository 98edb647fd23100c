// The outbound RouteConfiguration: one virtual host per HTTP service port,
// named `<host>:<port>` and answering to Istio's alternative names (the FQDN,
// `name.ns.svc`, `name.ns`, and the short name from the same namespace, each
// with and without the port). Our sidecar routes every service on one
// listener by Host, so a name without a port belongs to the service's lowest
// HTTP port, and a domain already taken by an earlier host is not repeated.
import type { RegistryService } from '../registry/registry-types.js';
import { defaultRoute, buildHttpRoutes, type RouteContext } from './build-http-routes.js';
import { outboundClusterName } from './cluster-name.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import type { ServiceRegistry } from '../registry/service-registry.js';

export const OUTBOUND_ROUTE_NAME = 'outbound';

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC']);
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
  const taken = new Set<string>();
  const virtualHosts: object[] = [];
  for (const service of services) {
    const httpPorts = service.ports.filter((p) => HTTP_PROTOCOLS.has(p.protocol));
    if (httpPorts.length === 0) continue;
    const aliases = hostAliases(service, proxy.namespace);
    const vs = config.virtualServiceFor(service.host);
    for (const [index, port] of httpPorts.entries()) {
      const candidates = aliases.map((a) => `${a}:${port.number}`);
      if (index === 0) candidates.unshift(...aliases);
      const domains = candidates.filter((d) => !taken.has(d));
      if (domains.length === 0) continue;
      for (const d of domains) taken.add(d);
      const cx: RouteContext = { proxy, config, registry, port: port.number, referencedClusters, usedFilters };
      let routes: object[] = [];
      if (vs !== undefined) for (const http of vs.spec.http) routes.push(...buildHttpRoutes(http, cx));
      if (routes.length === 0) {
        const cluster = outboundClusterName(service.host, port.number);
        referencedClusters.add(cluster);
        routes = [defaultRoute(cluster)];
      }
      virtualHosts.push({ name: `${service.host}:${port.number}`, domains: domains.sort(), routes });
    }
  }
  return {
    routeConfig: { name: OUTBOUND_ROUTE_NAME, virtual_hosts: virtualHosts },
    referencedClusters,
    usedFilters,
  };
}
