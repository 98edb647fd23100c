// Listeners and RouteConfigurations for a proxyless gRPC client. A channel
// for `xds:///reviews.default.svc.cluster.local:9080` asks LDS for a Listener
// named exactly `reviews.default.svc.cluster.local:9080` (the target without
// scheme and authority), whose `api_listener` is an HttpConnectionManager; it
// then picks, in the RouteConfiguration that names over RDS, the virtual host
// whose domains match that same string. So each HTTP/HTTP2/GRPC service port
// gets one RouteConfiguration named `<host>:<port>` and one Listener per name
// a client may dial: every alias of the host (FQDN, `name.ns.svc`, `name.ns`,
// the short name from the same namespace) with the port, and, for the
// service's lowest HTTP port, without it.
//
// The routes are the sidecar's (buildHttpRoutes), adapted to what gRPC
// accepts (gRFC A28/A31; grpc-js NACKs a whole RouteConfiguration for one
// route it cannot use):
// - redirect and direct_response routes are left out (gRPC clients support only
//   the `route` action);
// - routes matching query parameters are left out (a gRPC request has no query
//   string, so they can never match; grpc-js would ignore the matcher and match
//   too much);
// - CORS per-route config is dropped (no such gRPC filter; an unknown
//   non-optional filter is a NACK);
// - the route timeout is also written as max_stream_duration, the field gRPC reads.
import type { RegistryService } from '../registry/registry-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { hostAliases } from './build-route-config.js';
import { buildPortVirtualHosts } from './port-virtual-hosts.js';
import {
  adsConfigSource, CORS_FILTER, FAULT_FILTER, FAULT_TYPE, HCM_TYPE, ROUTER_FILTER, ROUTER_TYPE,
} from './envoy-values.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';


export interface ProxylessListenersResult {
  /** envoy.config.listener.v3.Listener with api_listener, sorted by name. */
  readonly listeners: object[];
  /** envoy.config.route.v3.RouteConfiguration, one per service port, sorted by name. */
  readonly routes: object[];
  /** Every cluster a route or mirror names. */
  readonly referencedClusters: ReadonlySet<string>;
}

/** The route config (and its clusters) a proxyless client dials a service port by: `<host>:<port>`. */
export function proxylessRouteName(host: string, port: number): string {
  return `${host}:${port}`;
}

type MutableRoute = Record<string, unknown> & { match: Record<string, unknown>; route?: Record<string, unknown> };

/** The route as gRPC accepts it, or undefined when gRPC cannot use it at all (see the file comment). */
export function grpcRoute(route: object): object | undefined {
  const r = route as MutableRoute;
  if (r.route === undefined) return undefined;
  if (r.match.query_parameters !== undefined) return undefined;
  const out: MutableRoute = { ...r };
  const perFilter = r.typed_per_filter_config as Record<string, object> | undefined;
  if (perFilter !== undefined && CORS_FILTER in perFilter) {
    const { [CORS_FILTER]: _cors, ...rest } = perFilter;
    if (Object.keys(rest).length > 0) out.typed_per_filter_config = rest;
    else delete out.typed_per_filter_config;
  }
  const timeout = r.route.timeout as { seconds: number; nanos: number } | undefined;
  if (timeout !== undefined && (timeout.seconds > 0 || timeout.nanos > 0)) {
    // gRPC reads max_stream_duration, not timeout (gRFC A31); Istio writes both the same way.
    out.route = { ...r.route, max_stream_duration: { max_stream_duration: timeout, grpc_timeout_header_max: timeout } };
  }
  return out;
}

/** Names a proxyless client may use for a host (aliases without VIPs: `xds:///10.0.0.1:80` names no service). */
function dialNames(service: RegistryService, proxyNamespace: string): string[] {
  const vips = new Set(service.addresses);
  return hostAliases(service, proxyNamespace).filter((name) => !vips.has(name));
}

/** Filters in gRPC's order: fault when a route uses it, then the router, which must be last. */
function grpcHttpFilters(usedFilters: ReadonlySet<string>): object[] {
  const filters: object[] = [];
  if (usedFilters.has(FAULT_FILTER)) filters.push({ name: FAULT_FILTER, typed_config: { '@type': FAULT_TYPE } });
  filters.push({ name: ROUTER_FILTER, typed_config: { '@type': ROUTER_TYPE } });
  return filters;
}

function apiListener(name: string, routeName: string, httpFilters: object[]): object {
  return {
    name,
    api_listener: {
      api_listener: {
        '@type': HCM_TYPE,
        stat_prefix: name,
        rds: { route_config_name: routeName, config_source: adsConfigSource() },
        http_filters: httpFilters,
      },
    },
  };
}

function byName(a: object, b: object): number {
  const x = (a as { name: string }).name;
  const y = (b as { name: string }).name;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Listeners and route configs for every HTTP port of every service a proxyless client may see. */
export function buildProxylessListeners(
  services: readonly RegistryService[], proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry,
): ProxylessListenersResult {
  const referencedClusters = new Set<string>();
  const listeners: object[] = [];
  const routes: object[] = [];
  const hosts = buildPortVirtualHosts(services, proxy, config, registry, referencedClusters, {
    names: (service) => dialNames(service, proxy.namespace),
    adapt: grpcRoute,
  });
  for (const v of hosts) {
    const routeName = proxylessRouteName(v.host, v.port);
    routes.push({ name: routeName, virtual_hosts: [{ name: routeName, domains: v.domains, routes: v.routes }] });
    const filters = grpcHttpFilters(v.usedFilters);
    for (const name of v.domains) listeners.push(apiListener(name, routeName, filters));
  }
  return { listeners: listeners.sort(byName), routes: routes.sort(byName), referencedClusters };
}
