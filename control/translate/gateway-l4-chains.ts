// Filter chains of a gateway's PASSTHROUGH (TLS) and TCP servers: the bound
// VirtualServices' `tls` rules become one tcp_proxy chain per rule, chosen by
// the ClientHello's SNI among the rule's sniHosts that the server exposes
// (tls_inspector reads it; the TLS stays end to end); their `tcp` rules, the
// first that matches the port, one chain for every connection. As in Istio,
// a connection nothing matches is closed.
import type { Destination, L4RouteDestination } from '../config/istio-types.js';
import { destinationCluster, type RouteContext } from './build-http-routes.js';
import { commonHost, type BoundServer } from './gateway-routes.js';
import type { MeshConfig } from './mesh-config.js';

export const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

function tcpProxy(statPrefix: string, route: readonly L4RouteDestination[], cx: RouteContext): object {
  const destinations = route.filter((d) => d.weight > 0);
  const cluster = (d: Destination): string => destinationCluster(d, cx);
  return {
    name: TCP_PROXY_FILTER,
    typed_config: {
      '@type': TCP_PROXY_TYPE,
      stat_prefix: statPrefix,
      ...(destinations.length === 1
        ? { cluster: cluster(destinations[0]!.destination) }
        : { weighted_clusters: { clusters: destinations.map((d) => ({ name: cluster(d.destination), weight: d.weight })) } }),
    },
  };
}

/** Whether a tls match (port null = any; gateways [] = the VirtualService's) applies to this server of this gateway. */
function matchApplies(m: { readonly port: number | null; readonly gateways: readonly string[] }, bound: BoundServer): boolean {
  return (m.port === null || m.port === bound.server.port.number) && (m.gateways.length === 0 || m.gateways.includes(bound.key));
}

/** The SNI names of `sniHosts` a server exposes to a VirtualService of `namespace` (the more specific of each pair). */
function exposedNames(sniHosts: readonly string[], bound: BoundServer, namespace: string): string[] {
  const out: string[] = [];
  for (const sni of sniHosts) {
    for (const h of bound.server.hosts) {
      if (h.namespace !== '*' && h.namespace !== namespace) continue;
      const name = commonHost(h.dnsName, sni);
      if (name !== undefined && !out.includes(name)) out.push(name);
    }
  }
  return out.sort();
}

/** What the chains of one listener already claim: SNI names, and the default chain (no server_names). */
export interface ClaimedMatches {
  readonly names: Set<string>;
  defaultTaken: boolean;
}

/**
 * The chains of a port's PASSTHROUGH and TCP servers; an SNI name or the default chain already claimed (by an HTTPS
 * server, or an earlier rule) is not claimed again. Clusters go to cx.referencedClusters.
 */
export function buildL4Chains(statPrefix: string, servers: readonly BoundServer[], config: MeshConfig, cx: RouteContext, claimed: ClaimedMatches): object[] {
  const chains: object[] = [];
  const takenNames = claimed.names;
  for (const bound of servers) {
    // Istio's tasks write PASSTHROUGH servers with protocol HTTPS as well as TLS: both relay by SNI.
    const passthrough = bound.server.tls?.mode === 'PASSTHROUGH';
    const tcp = bound.server.port.protocol === 'TCP';
    if (!passthrough && !tcp) continue;
    for (const vs of config.virtualServicesForGateway(bound.key)) {
      if (passthrough) {
        for (const rule of vs.spec.tls) {
          const names = new Set<string>();
          let any = false;
          for (const m of rule.matches) {
            if (!matchApplies(m, bound)) continue;
            for (const n of exposedNames(m.sniHosts.map((h) => h.fqdn), bound, vs.metadata.namespace)) {
              if (n === '*') any = true;
              else if (!takenNames.has(n)) names.add(n);
            }
          }
          // sniHosts "*" on a server for "*": every ClientHello no other chain claims (the chain without server_names).
          if (any && !claimed.defaultTaken) {
            claimed.defaultTaken = true;
            chains.push({ filters: [tcpProxy(statPrefix, rule.route, cx)] });
            continue;
          }
          if (names.size === 0) continue;
          for (const n of names) takenNames.add(n);
          chains.push({ filter_chain_match: { server_names: [...names].sort() }, filters: [tcpProxy(statPrefix, rule.route, cx)] });
        }
      } else if (!claimed.defaultTaken) {
        const rule = vs.spec.tcp.find((r) => r.ports.length === 0 || r.ports.includes(bound.server.port.number));
        if (rule === undefined) continue;
        claimed.defaultTaken = true;
        chains.push({ filters: [tcpProxy(statPrefix, rule.route, cx)] });
      }
    }
  }
  return chains;
}

