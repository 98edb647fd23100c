// Outbound clusters and their ClusterLoadAssignments: one EDS cluster per
// service port and subset (`outbound|9080|v1|reviews...`, the empty subset
// being every endpoint), each with the DestinationRule's policy, and the
// endpoints whose labels match the subset. A ServiceEntry with resolution DNS
// gets a STRICT_DNS cluster and DNS_ROUND_ROBIN a LOGICAL_DNS one, as Istio
// translates them: the load assignment inline, names resolved by the proxy.
import { localityText } from '../../src/xds/locality.js';
import type { StringMap } from '../config/istio-types.js';
import { labelsMatch, type RegistryEndpoint, type RegistryService } from '../registry/registry-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { outboundClusterName, parseOutboundClusterName, type OutboundClusterKey } from './cluster-name.js';
import { adsConfigSource, duration, socketAddress, wrapped } from './envoy-values.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { localityFailoverApplies, localityPriorities } from './locality-priority.js';
import { clusterPolicyFields, effectivePolicy } from './traffic-policy.js';
import { ISTIO_ALPN, ISTIO_H2_ALPN, istioSni, outboundMtlsSocket, spiffeIds } from './mtls-contexts.js';
import { hasMeshIdentity } from './peer-authentication-policy.js';
import { upstreamHttpProtocol, type UpstreamHttpProtocol } from './upstream-protocol.js';

/** Cluster names for every port of a service and every subset its DestinationRule defines (sorted). */
export function serviceClusterNames(service: RegistryService, proxy: ProxyIdentity, config: MeshConfig): string[] {
  const rule = config.destinationRuleFor(service.host, proxy.namespace, service.namespace);
  const subsets = ['', ...(rule?.spec.subsets.map((s) => s.name) ?? [])];
  const names: string[] = [];
  for (const port of service.ports) for (const subset of subsets) names.push(outboundClusterName(service.host, port.number, subset));
  return names;
}

function hostNamespace(key: OutboundClusterKey, registry: ServiceRegistry, proxy: ProxyIdentity): string {
  return registry.service(key.host)?.namespace ?? proxy.namespace;
}

/** Istio's DNS cluster settings: IPv4 (its default for IPv4 proxies), the answer's TTL, mesh dnsRefreshRate's 60 s default. */
const DNS_CLUSTER_FIELDS = { dns_lookup_family: 'V4_ONLY', respect_dns_ttl: true, dns_refresh_rate: duration(60_000) } as const;

/** The outbound cluster name's service when it is resolved by DNS (a ServiceEntry with resolution DNS or DNS_ROUND_ROBIN). */
export function dnsServiceOf(name: string, registry: ServiceRegistry): RegistryService | undefined {
  const key = parseOutboundClusterName(name);
  const service = key === undefined ? undefined : registry.service(key.host);
  return service?.resolution === undefined ? undefined : service;
}

/** The EDS cluster for an outbound cluster name (its host may be unknown: the cluster then has no endpoints), or a DNS cluster. */
export function buildOutboundCluster(name: string, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): object {
  const key = parseOutboundClusterName(name);
  if (key === undefined) throw new Error(`not an outbound cluster name: ${name}`);
  const rule = config.destinationRuleFor(key.host, proxy.namespace, hostNamespace(key, registry, proxy));
  const policy = effectivePolicy(rule, key.subset, key.port);
  const upstream = upstreamHttpProtocol({
    portProtocol: registry.service(key.host)?.ports.find((p) => p.number === key.port)?.protocol,
    policy,
    meshUpgrade: config.options.h2UpgradePolicy,
    direction: 'outbound',
    sidecar: proxy.router !== true && proxy.proxyless !== true,
  });
  const policyFields = clusterPolicyFields(policy, config.options.connectTimeoutMs, key.host, upstream);
  const mtls = outboundMtls(key, policy.tls?.mode, upstream, proxy, config, registry);
  const mtlsFields = mtls !== undefined ? { transport_socket: mtls } : {};
  const dnsService = dnsServiceOf(name, registry);
  if (dnsService !== undefined) {
    const assignment = dnsLoadAssignment(name, key, dnsService, proxy, config, registry);
    // LOGICAL_DNS takes exactly one endpoint: a subset that selects none falls back to an empty STRICT_DNS cluster.
    const logical = dnsService.resolution === 'DNS_ROUND_ROBIN' && assignment.endpoints.length === 1;
    return { name, type: logical ? 'LOGICAL_DNS' : 'STRICT_DNS', ...DNS_CLUSTER_FIELDS, load_assignment: assignment, ...policyFields, ...mtlsFields };
  }
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: name },
    ...policyFields,
    ...mtlsFields,
  };
}

/** A DNS service's load assignment: its listed endpoints that match the subset (each in its locality), or the host itself. */
function dnsLoadAssignment(
  name: string, key: OutboundClusterKey, service: RegistryService, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry,
): { cluster_name: string; endpoints: object[] } {
  const listed = service.dnsEndpoints ?? [];
  if (listed.length === 0) {
    return { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(service.host, key.port) } }] }] };
  }
  const selector = subsetLabels(key, proxy, config, registry);
  const portName = service.ports.find((p) => p.number === key.port)?.name ?? '';
  const groups = new Map<string, { locality: RegistryEndpoint['locality']; lbEndpoints: object[] }>();
  for (const w of selector === undefined ? [] : listed) {
    if (!labelsMatch(selector!, w.labels)) continue;
    const group = localityText(w.locality);
    let entry = groups.get(group);
    if (entry === undefined) groups.set(group, (entry = { locality: w.locality, lbEndpoints: [] }));
    entry.lbEndpoints.push({ endpoint: { address: socketAddress(w.address, w.ports[portName] ?? key.port) }, load_balancing_weight: wrapped(w.weight) });
  }
  const endpoints = [...groups.keys()].sort().map((g) => {
    const { locality, lbEndpoints } = groups.get(g)!;
    return { ...(locality !== undefined ? { locality: { region: locality.region, zone: locality.zone, sub_zone: locality.subZone } } : {}), lb_endpoints: lbEndpoints };
  });
  return { cluster_name: name, endpoints };
}

/**
 * The mTLS transport socket of an outbound cluster, or undefined for plaintext. Only a proxy with a mesh identity
 * originates mTLS (it alone has the `default` secret). DestinationRule tls.mode ISTIO_MUTUAL says mTLS, DISABLE
 * plaintext; with neither, auto mTLS as Istio's: mTLS when every endpoint's workload has a sidecar with a mesh
 * identity (label security.istio.io/tlsMode=istio), plaintext otherwise. The peer must present the SPIFFE ID of
 * one of the service's accounts (the service's endpoints'); endpoints with no account give no check beyond the CA.
 * ALPN: Istio's in-mesh values, with h2 last for an HTTP/2 cluster.
 */
function outboundMtls(
  key: OutboundClusterKey, mode: string | undefined, upstream: UpstreamHttpProtocol | undefined, proxy: ProxyIdentity, config: MeshConfig,
  registry: ServiceRegistry,
): object | undefined {
  if (!hasMeshIdentity(proxy.labels) || mode === 'DISABLE') return undefined;
  if (mode !== 'ISTIO_MUTUAL' && mode !== undefined) return undefined; // SIMPLE/MUTUAL: the DestinationRule's own TLS
  const endpoints = registry.endpoints(key.host);
  if (mode === undefined && (endpoints.length === 0 || !endpoints.every((e) => hasMeshIdentity(e.labels)))) return undefined;
  const namespace = registry.service(key.host)?.namespace ?? proxy.namespace;
  // Auto mTLS also asks the destination's PeerAuthentication, as Istio's BestEffortInferServiceMTLSMode: a port its
  // workloads take with DISABLE gets plaintext (mTLS there would reach a plaintext chain).
  if (mode === undefined && endpoints.every((e) => {
    const port = e.portByServicePort[key.port] ?? key.port;
    return config.mtlsModeFor({ id: '', namespace, labels: e.labels }, port) === 'DISABLE';
  })) return undefined;
  const accounts = endpoints.filter((e) => e.serviceAccount !== '').map((e) => ({ namespace, serviceAccount: e.serviceAccount }));
  // An HTTP/2 cluster says so by ALPN, as Istio's ALPNInMeshH2WithMxc; the peer's inbound HTTP chain then picks h2.
  const alpn = upstream === 'HTTP2' ? ISTIO_H2_ALPN : ISTIO_ALPN;
  return outboundMtlsSocket(istioSni(key.host, key.port, key.subset), spiffeIds(config.options.trustDomain, accounts), alpn);
}

/**
 * For a proxyless gRPC client (no sidecar, so no auto mTLS: Istio's proxyless clients use mTLS only when a
 * DestinationRule says ISTIO_MUTUAL): Istio's SNI and the SPIFFE IDs the server may present, or undefined for
 * plaintext.
 */
export function proxylessMtlsPeer(name: string, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): { sni: string; peerIds: string[] } | undefined {
  const key = parseOutboundClusterName(name);
  if (key === undefined) return undefined;
  const rule = config.destinationRuleFor(key.host, proxy.namespace, hostNamespace(key, registry, proxy));
  if (effectivePolicy(rule, key.subset, key.port).tls?.mode !== 'ISTIO_MUTUAL') return undefined;
  const namespace = registry.service(key.host)?.namespace ?? proxy.namespace;
  const accounts = registry.endpoints(key.host).filter((e) => e.serviceAccount !== '').map((e) => ({ namespace, serviceAccount: e.serviceAccount }));
  return { sni: istioSni(key.host, key.port, key.subset), peerIds: spiffeIds(config.options.trustDomain, accounts) };
}

/** Labels a subset selects; undefined when the subset is not defined (the cluster then gets no endpoints). */
function subsetLabels(key: OutboundClusterKey, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): StringMap | undefined {
  if (key.subset === '') return {};
  const rule = config.destinationRuleFor(key.host, proxy.namespace, hostNamespace(key, registry, proxy));
  return rule?.spec.subsets.find((s) => s.name === key.subset)?.labels;
}

/** The ClusterLoadAssignment of an outbound cluster: matching endpoints grouped by locality (sorted). */
export function buildLoadAssignment(name: string, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): object {
  const key = parseOutboundClusterName(name);
  if (key === undefined) throw new Error(`not an outbound cluster name: ${name}`);
  const selector = subsetLabels(key, proxy, config, registry);
  const groups = new Map<string, { locality: RegistryEndpoint['locality']; lbEndpoints: object[] }>();
  if (selector !== undefined) {
    for (const endpoint of registry.endpoints(key.host)) {
      const port = endpoint.portByServicePort[key.port];
      if (port === undefined || !labelsMatch(selector, endpoint.labels)) continue;
      const group = localityText(endpoint.locality);
      let entry = groups.get(group);
      if (entry === undefined) {
        entry = { locality: endpoint.locality, lbEndpoints: [] };
        groups.set(group, entry);
      }
      entry.lbEndpoints.push({
        endpoint: { address: socketAddress(endpoint.address, port) },
        load_balancing_weight: wrapped(endpoint.weight),
      });
    }
  }
  const ordered = [...groups.keys()].sort().map((group) => groups.get(group)!);
  const rule = config.destinationRuleFor(key.host, proxy.namespace, hostNamespace(key, registry, proxy));
  const policy = effectivePolicy(rule, key.subset, key.port);
  const priorities = localityFailoverApplies(policy, proxy.locality)
    ? localityPriorities(proxy.locality, ordered.map((g) => g.locality), policy)
    : undefined;
  const endpoints = ordered.map(({ locality, lbEndpoints }, i) => ({
    ...(locality !== undefined ? { locality: { region: locality.region, zone: locality.zone, sub_zone: locality.subZone } } : {}),
    lb_endpoints: lbEndpoints,
    ...(priorities !== undefined && priorities[i]! > 0 ? { priority: priorities[i] } : {}),
  }));
  return { cluster_name: name, endpoints };
}
