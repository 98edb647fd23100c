// A gateway proxy's resources (`isthmus proxy --router`, Istio's `router`
// node type): for every port of the Gateways selecting its labels, one
// listener on the proxy's address. Plain HTTP servers of a port share one
// filter chain and the RouteConfiguration `http.<port>`; each HTTPS server
// (SIMPLE or MUTUAL) gets its own filter chain, chosen by SNI among the
// server's hosts through tls_inspector, terminating TLS with the server's
// certificate files and routing by `https.<port>.<server>` (Istio's names).
// PASSTHROUGH (TLS) servers relay by SNI and TCP servers relay every
// connection through tcp_proxy, by the bound VirtualServices' tls and tcp
// rules (gateway-l4-chains.ts). Clusters and endpoints are those the routes name.
import type { ServiceRegistry } from '../registry/service-registry.js';
import { buildLoadAssignment, buildOutboundCluster } from './build-clusters.js';
import { httpFilters, REQUEST_HEADERS_TIMEOUT_MS } from './build-listeners.js';
import { adsConfigSource, duration, HCM_FILTER, HCM_TYPE, socketAddress } from './envoy-values.js';
import type { RouteContext } from './build-http-routes.js';
import { buildL4Chains, type ClaimedMatches } from './gateway-l4-chains.js';
import { buildGatewayRouteConfig, gatewayKey, type BoundServer } from './gateway-routes.js';
import { hcmPathNormalization } from './hcm-path-normalization.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { downstreamTlsSocket } from './tls-transport-socket.js';
import type { EnvoyResources } from './translate-for-proxy.js';

const TLS_INSPECTOR = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' },
};

const HTTP_PROTOCOLS = new Set(['HTTP', 'HTTP2', 'GRPC']);

function isTerminatedHttps(b: BoundServer): boolean {
  return b.server.port.protocol === 'HTTPS' && (b.server.tls?.mode === 'SIMPLE' || b.server.tls?.mode === 'MUTUAL');
}

/** The servers of every selected Gateway, grouped by port number (ports ascending). */
function serversByPort(proxy: ProxyIdentity, config: MeshConfig): Map<number, BoundServer[]> {
  const byPort = new Map<number, BoundServer[]>();
  for (const gateway of config.gatewaysFor(proxy)) {
    const key = gatewayKey(gateway);
    for (const server of gateway.spec.servers) {
      const list = byPort.get(server.port.number) ?? [];
      list.push({ gateway, key, server });
      byPort.set(server.port.number, list);
    }
  }
  return new Map([...byPort.entries()].sort((a, b) => a[0] - b[0]));
}

function hcm(statPrefix: string, routeName: string, usedFilters: ReadonlySet<string>, config: MeshConfig): object {
  return {
    name: HCM_FILTER,
    typed_config: {
      '@type': HCM_TYPE,
      stat_prefix: statPrefix,
      rds: { route_config_name: routeName, config_source: adsConfigSource() },
      http_filters: httpFilters(usedFilters),
      ...hcmPathNormalization(config.options.pathNormalization),
      request_headers_timeout: duration(REQUEST_HEADERS_TIMEOUT_MS),
    },
  };
}

/** Istio's name for an HTTPS server's route config: `https.<port>.<port name>.<gateway>.<namespace>`. */
function httpsRouteName(b: BoundServer, index: number): string {
  const portName = b.server.port.name || String(index);
  return `https.${b.server.port.number}.${portName}.${b.gateway.metadata.name}.${b.gateway.metadata.namespace}`;
}

export function translateGateway(proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): EnvoyResources {
  const address = proxy.address ?? '127.0.0.1';
  const referenced = new Set<string>();
  const listeners: object[] = [];
  const routes: object[] = [];
  for (const [port, servers] of serversByPort(proxy, config)) {
    const name = `${address}_${port}`;
    const chains: object[] = [];
    const plain = servers.filter((b) => HTTP_PROTOCOLS.has(b.server.port.protocol));
    const https = servers.filter(isTerminatedHttps);
    if (plain.length > 0) {
      const routeName = `http.${port}`;
      const built = buildGatewayRouteConfig(routeName, port, plain, proxy, config, registry, referenced);
      routes.push(built.routeConfig);
      chains.push({ filters: [hcm(`${name}`, routeName, built.usedFilters, config)] });
    }
    let inspect = false;
    if (plain.length === 0) {
      const claimed: ClaimedMatches = { names: new Set(), defaultTaken: false };
      const taken = new Set<string>();
      https.forEach((b, i) => {
        // A server for any host ("*") takes every ClientHello its siblings do not (no server_names: the default chain).
        const names = b.server.hosts.some((h) => h.dnsName === '*') ? [] : [...new Set(b.server.hosts.map((h) => h.dnsName))].sort();
        // Two servers for the same names: the first (by Gateway namespace/name) keeps them, as a listener can hold one.
        const matchKey = names.join(',');
        if (taken.has(matchKey)) return;
        taken.add(matchKey);
        if (names.length === 0) claimed.defaultTaken = true;
        for (const n of names) claimed.names.add(n);
        const routeName = httpsRouteName(b, i);
        const built = buildGatewayRouteConfig(routeName, port, [b], proxy, config, registry, referenced);
        routes.push(built.routeConfig);
        chains.push({
          ...(names.length > 0 ? { filter_chain_match: { server_names: names } } : {}),
          transport_socket: downstreamTlsSocket(b.server.tls!),
          filters: [hcm(`${name}`, routeName, built.usedFilters, config)],
        });
      });
      const cx: RouteContext = { proxy, config, registry, port, referencedClusters: referenced, usedFilters: new Set() };
      chains.push(...buildL4Chains(name, servers, config, cx, claimed));
      inspect = https.length > 0 || claimed.names.size > 0;
    }
    if (chains.length === 0) continue;
    listeners.push({
      name,
      address: socketAddress(address, port),
      traffic_direction: 'OUTBOUND',
      ...(inspect ? { listener_filters: [TLS_INSPECTOR] } : {}),
      filter_chains: chains,
    });
  }
  const names = [...referenced].sort();
  return {
    clusters: names.map((n) => buildOutboundCluster(n, proxy, config, registry)),
    endpoints: names.map((n) => buildLoadAssignment(n, proxy, config, registry)),
    listeners: listeners.sort(byName),
    routes: routes.sort(byName),
  };
}

function byName(a: object, b: object): number {
  const x = (a as { name: string }).name;
  const y = (b as { name: string }).name;
  return x < y ? -1 : x > y ? 1 : 0;
}
