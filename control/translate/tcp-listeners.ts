// The sidecar's outbound listeners for TCP service ports, one per port number
// on the outbound address (an app without traffic capture connects to
// 127.0.0.1:<service port>): a tcp_proxy to the service's cluster, or where
// the host's VirtualService has `tcp` rules for the port, to their weighted
// destinations. TLS ports (TLS, HTTPS) are passed through undecrypted: the
// tls_inspector reads the SNI and a chain per host name (or per `tls` rule's
// sniHosts) sends the connection on. HTTP and undeclared ports are served by
// the `outbound` HTTP listener (by Host).
import type { L4RouteDestination, VirtualService } from '../config/istio-types.js';
import { portHandling } from '../config/port-protocol.js';
import type { RegistryPort, RegistryService } from '../registry/registry-types.js';
import { outboundClusterName } from './cluster-name.js';
import { socketAddress, TYPE_PREFIX } from './envoy-values.js';
import type { MeshConfig } from './mesh-config.js';

const TCP_PROXY = 'envoy.filters.network.tcp_proxy';
const TCP_PROXY_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
const TLS_INSPECTOR = 'envoy.filters.listener.tls_inspector';
const TLS_INSPECTOR_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`;

export interface OutboundTcpListeners {
  readonly listeners: object[];
  /** Every cluster the chains name (the caller builds them). */
  readonly referencedClusters: ReadonlySet<string>;
}

interface PortUser {
  readonly service: RegistryService;
  readonly port: RegistryPort;
}

function tcpProxy(statPrefix: string, route: readonly L4RouteDestination[], port: number, referenced: Set<string>): object {
  const clusters = route.filter((d) => d.weight > 0 || route.length === 1).map((d) => ({
    name: outboundClusterName(d.destination.host.fqdn, d.destination.port ?? port, d.destination.subset ?? ''),
    weight: route.length === 1 ? 1 : d.weight,
  }));
  for (const c of clusters) referenced.add(c.name);
  const target = clusters.length === 1 ? { cluster: clusters[0]!.name } : { weighted_clusters: { clusters } };
  return { name: TCP_PROXY, typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: statPrefix, ...target } };
}

/** The service's own cluster for the port, as a one-destination route. */
function ownRoute(user: PortUser): L4RouteDestination[] {
  return [{ destination: { host: { written: user.service.host, fqdn: user.service.host }, port: user.port.number }, weight: 100 }];
}

function tcpRouteFor(vs: VirtualService | undefined, port: number): readonly L4RouteDestination[] | undefined {
  return vs?.spec.tcp.find((r) => r.ports.length === 0 || r.ports.includes(port))?.route;
}

/** takes the services in the proxy's scope; returns a listener per TCP port number and the clusters they name. */
export function buildOutboundTcpListeners(services: readonly RegistryService[], config: MeshConfig): OutboundTcpListeners {
  const byPort = new Map<number, PortUser[]>();
  for (const service of services) {
    for (const port of service.ports) {
      if (portHandling(port.protocol) !== 'tcp') continue;
      let users = byPort.get(port.number);
      if (users === undefined) byPort.set(port.number, (users = []));
      users.push({ service, port });
    }
  }
  const referenced = new Set<string>();
  const listeners: object[] = [];
  for (const [number, users] of [...byPort].sort((a, b) => a[0] - b[0])) {
    const chains: object[] = [];
    const seenSni = new Set<string>();
    const stat = `outbound_tcp_${number}`;
    for (const user of users) {
      if (user.port.protocol !== 'TLS' && user.port.protocol !== 'HTTPS') continue;
      const vs = config.virtualServiceFor(user.service.host);
      const rules = vs?.spec.tls.flatMap((r) => r.matches.filter((m) => (m.port === null || m.port === number) && (m.gateways.length === 0 || m.gateways.includes('mesh'))).map((m) => ({ m, r }))) ?? [];
      const entries = rules.length > 0
        ? rules.map(({ m, r }) => ({ names: m.sniHosts.map((h) => h.fqdn), route: r.route }))
        : [{ names: [user.service.host], route: ownRoute(user) }];
      for (const e of entries) {
        const names = e.names.filter((n) => !seenSni.has(n));
        if (names.length === 0) continue;
        for (const n of names) seenSni.add(n);
        chains.push({ filter_chain_match: { server_names: names }, filters: [tcpProxy(stat, e.route, number, referenced)] });
      }
    }
    // Plain TCP: the port's first service (by host) takes every connection without a matching SNI.
    const plain = users.find((u) => u.port.protocol !== 'TLS' && u.port.protocol !== 'HTTPS');
    if (plain !== undefined) {
      const route = tcpRouteFor(config.virtualServiceFor(plain.service.host), number) ?? ownRoute(plain);
      chains.push({ filters: [tcpProxy(stat, route, number, referenced)] });
    }
    if (chains.length === 0) continue;
    const tls = chains.some((c) => (c as { filter_chain_match?: unknown }).filter_chain_match !== undefined);
    listeners.push({
      name: stat,
      address: socketAddress(config.options.outboundAddress, number),
      traffic_direction: 'OUTBOUND',
      ...(tls ? { listener_filters: [{ name: TLS_INSPECTOR, typed_config: { '@type': TLS_INSPECTOR_TYPE } }] } : {}),
      filter_chains: chains,
    });
  }
  return { listeners, referencedClusters: referenced };
}
