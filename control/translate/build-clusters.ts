// Outbound clusters and their ClusterLoadAssignments: one EDS cluster per
// service port and subset (`outbound|9080|v1|reviews...`, the empty subset
// being every endpoint), each with the DestinationRule's policy, and the
// endpoints whose labels match the subset.
import { localityText } from '../../src/xds/locality.js';
import type { StringMap } from '../config/istio-types.js';
import { labelsMatch, type RegistryEndpoint, type RegistryService } from '../registry/registry-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { outboundClusterName, parseOutboundClusterName, type OutboundClusterKey } from './cluster-name.js';
import { adsConfigSource, socketAddress, wrapped } from './envoy-values.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { localityFailoverApplies, localityPriorities } from './locality-priority.js';
import { clusterPolicyFields, effectivePolicy } from './traffic-policy.js';
import { istioSni, outboundMtlsSocket, spiffeIds } from './mtls-contexts.js';
import { hasMeshIdentity } from './peer-authentication-policy.js';

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

/** The EDS cluster for an outbound cluster name (its host may be unknown: the cluster then has no endpoints). */
export function buildOutboundCluster(name: string, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry): object {
  const key = parseOutboundClusterName(name);
  if (key === undefined) throw new Error(`not an outbound cluster name: ${name}`);
  const rule = config.destinationRuleFor(key.host, proxy.namespace, hostNamespace(key, registry, proxy));
  const policy = effectivePolicy(rule, key.subset);
  const mtls = outboundMtls(key, policy.tls?.mode, proxy, config, registry);
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: name },
    ...clusterPolicyFields(policy, config.options.connectTimeoutMs),
    ...(mtls !== undefined ? { transport_socket: mtls } : {}),
  };
}

/**
 * The mTLS transport socket of an outbound cluster, or undefined for plaintext. Only a proxy with a mesh identity
 * originates mTLS (it alone has the `default` secret). DestinationRule tls.mode ISTIO_MUTUAL says mTLS, DISABLE
 * plaintext; with neither, auto mTLS as Istio's: mTLS when every endpoint's workload has a sidecar with a mesh
 * identity (label security.istio.io/tlsMode=istio), plaintext otherwise. The peer must present the SPIFFE ID of
 * one of the service's accounts (the service's endpoints'); endpoints with no account give no check beyond the CA.
 */
function outboundMtls(
  key: OutboundClusterKey, mode: string | undefined, proxy: ProxyIdentity, config: MeshConfig, registry: ServiceRegistry,
): object | undefined {
  if (!hasMeshIdentity(proxy.labels) || mode === 'DISABLE') return undefined;
  if (mode !== 'ISTIO_MUTUAL' && mode !== undefined) return undefined; // SIMPLE/MUTUAL: the DestinationRule's own TLS
  const endpoints = registry.endpoints(key.host);
  if (mode === undefined && (endpoints.length === 0 || !endpoints.every((e) => hasMeshIdentity(e.labels)))) return undefined;
  const namespace = registry.service(key.host)?.namespace ?? proxy.namespace;
  const accounts = endpoints.filter((e) => e.serviceAccount !== '').map((e) => ({ namespace, serviceAccount: e.serviceAccount }));
  return outboundMtlsSocket(istioSni(key.host, key.port, key.subset), spiffeIds(config.options.trustDomain, accounts));
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
  const policy = effectivePolicy(rule, key.subset);
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
