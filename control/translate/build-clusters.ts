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
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: adsConfigSource(), service_name: name },
    ...clusterPolicyFields(effectivePolicy(rule, key.subset, key.port), config.options.connectTimeoutMs, key.host),
  };
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
