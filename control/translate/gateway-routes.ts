// The RouteConfiguration of a gateway's HTTP servers: one virtual host per
// host a bound VirtualService shares with a server, as istiod builds them.
// A VirtualService binds to a Gateway by `gateways: [name | ns/name]`; a server
// host `ns/dnsName` lets only VirtualServices of `ns` ("*": any) bind to it;
// the virtual host is named by the more specific of the two hosts (`*` with
// `*` stays `*`). Two VirtualServices for one host have their routes merged
// in precedence order, as istiod does for gateways. A server with
// tls.httpsRedirect answers every request with a redirect to https.
import { MESH_GATEWAY, type Gateway, type GatewayServer, type VirtualService } from '../config/istio-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { buildHttpRoutes, type RouteContext } from './build-http-routes.js';
import { hostMatches, type MeshConfig, type ProxyIdentity } from './mesh-config.js';

/** A server of a Gateway, with the Gateway's `namespace/name`. */
export interface BoundServer {
  readonly gateway: Gateway;
  readonly key: string;
  readonly server: GatewayServer;
}

export function gatewayKey(g: Gateway): string {
  return `${g.metadata.namespace}/${g.metadata.name}`;
}

/**
 * The host a server host and a VirtualService host have in common, or undefined: equal hosts, or the more
 * specific one when the other's wildcard covers it (Istio's host intersection for gateways).
 */
export function commonHost(serverHost: string, vsHost: string): string | undefined {
  if (serverHost === vsHost) return serverHost;
  if (hostMatches(serverHost, vsHost)) return vsHost;
  if (hostMatches(vsHost, serverHost)) return serverHost;
  return undefined;
}

/** The hosts of vs that a server exposes to it (namespace rule applied), in the VirtualService's order. */
export function serverHostsFor(server: GatewayServer, vs: VirtualService): string[] {
  const out: string[] = [];
  for (const h of vs.spec.hosts) {
    for (const sh of server.hosts) {
      if (sh.namespace !== '*' && sh.namespace !== vs.metadata.namespace) continue;
      const host = commonHost(sh.dnsName, h.fqdn);
      if (host !== undefined && !out.includes(host)) out.push(host);
    }
  }
  return out;
}

export interface GatewayRouteResult {
  readonly routeConfig: object;
  readonly usedFilters: ReadonlySet<string>;
}

interface VirtualHostDraft {
  readonly name: string;
  readonly domains: string[];
  readonly routes: object[];
}

/** Domains of a gateway virtual host: the host, and the host with the listener port (`*` alone for any host). */
function domainsOf(host: string, port: number): string[] {
  return host === '*' ? ['*'] : [host, `${host}:${port}`];
}

const HTTPS_REDIRECT_ROUTE = Object.freeze({ name: 'https-redirect', match: { prefix: '/' }, redirect: { https_redirect: true } });

/** The route config `name` for the given servers (all on `port`); also adds every cluster a route names to referencedClusters. */
export function buildGatewayRouteConfig(
  name: string,
  port: number,
  servers: readonly BoundServer[],
  proxy: ProxyIdentity,
  config: MeshConfig,
  registry: ServiceRegistry,
  referencedClusters: Set<string>,
): GatewayRouteResult {
  const usedFilters = new Set<string>();
  const hosts = new Map<string, VirtualHostDraft>();
  const cx: RouteContext = { proxy, config, registry, port, referencedClusters, usedFilters };
  for (const bound of servers) {
    const redirect = bound.server.tls?.httpsRedirect === true;
    for (const vs of config.virtualServicesForGateway(bound.key)) {
      for (const host of serverHostsFor(bound.server, vs)) {
        let draft = hosts.get(host);
        if (draft === undefined) {
          draft = { name: `${host}:${port}`, domains: domainsOf(host, port), routes: redirect ? [HTTPS_REDIRECT_ROUTE] : [] };
          hosts.set(host, draft);
        }
        if (redirect) continue;
        for (const http of vs.spec.http) draft.routes.push(...buildHttpRoutes(http, cx));
      }
    }
  }
  const virtualHosts = [...hosts.values()].filter((h) => h.routes.length > 0);
  return { routeConfig: { name, virtual_hosts: virtualHosts }, usedFilters };
}

/** Whether a VirtualService names a gateway (`ns/name`) other than mesh that no Gateway defines. */
export function unknownGateways(vs: VirtualService, gateways: readonly Gateway[]): string[] {
  const known = new Set(gateways.map(gatewayKey));
  return vs.spec.gateways.filter((g) => g !== MESH_GATEWAY && !known.has(g));
}
