// The walk both sidecar and proxyless route configs share: one virtual host
// per HTTP port of every visible service, answering to the names a client may
// use for it (each name once: the first service that claims it keeps it),
// routed by the service's VirtualService or, without one, to its cluster.
import type { RegistryService } from '../registry/registry-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { buildHttpRoutes, defaultRoute, type RouteContext } from './build-http-routes.js';
import { outboundClusterName } from './cluster-name.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';

import { portHandling } from '../config/port-protocol.js';

export interface PortVirtualHost {
  readonly host: string;
  readonly port: number;
  /** Sorted. The names without a port belong to the service's first HTTP port. */
  readonly domains: string[];
  readonly routes: object[];
  /** HTTP filters these routes configure per route (fault, cors). */
  readonly usedFilters: ReadonlySet<string>;
}

export interface PortVirtualHostOptions {
  /** The names (without port) a client may use for a service. */
  readonly names: (service: RegistryService) => string[];
  /** Rewrites or drops a route (a client that supports less, like gRPC); default keeps it. */
  readonly adapt?: (route: object) => object | undefined;
}

/** Also adds every cluster a route names to `referencedClusters`. */
export function buildPortVirtualHosts(
  services: readonly RegistryService[],
  proxy: ProxyIdentity,
  config: MeshConfig,
  registry: ServiceRegistry,
  referencedClusters: Set<string>,
  o: PortVirtualHostOptions,
): PortVirtualHost[] {
  const taken = new Set<string>();
  const out: PortVirtualHost[] = [];
  for (const service of services) {
    // HTTP ports, and ports of no declared protocol (sniffed: they may carry HTTP).
    const httpPorts = service.ports.filter((p) => portHandling(p.protocol) !== 'tcp');
    if (httpPorts.length === 0) continue;
    const names = o.names(service);
    const vs = config.virtualServiceFor(service.host);
    for (const [index, port] of httpPorts.entries()) {
      const candidates = names.map((n) => `${n}:${port.number}`);
      if (index === 0) candidates.unshift(...names);
      const domains = candidates.filter((d) => !taken.has(d));
      if (domains.length === 0) continue;
      for (const d of domains) taken.add(d);
      const usedFilters = new Set<string>();
      const cx: RouteContext = { proxy, config, registry, port: port.number, referencedClusters, usedFilters };
      let routes: object[] = [];
      if (vs !== undefined) {
        for (const http of vs.spec.http) {
          for (const route of buildHttpRoutes(http, cx)) {
            const adapted = o.adapt === undefined ? route : o.adapt(route);
            if (adapted !== undefined) routes.push(adapted);
          }
        }
      }
      if (routes.length === 0) {
        const cluster = outboundClusterName(service.host, port.number);
        referencedClusters.add(cluster);
        routes = [defaultRoute(cluster)];
      }
      out.push({ host: service.host, port: port.number, domains: domains.sort(), routes, usedFilters });
    }
  }
  return out;
}
