// The config files as a platform adapter: ServiceEntries become services
// (their listed endpoints with them), WorkloadEntries become workloads that
// services select by label. The config store calls update() with every
// accepted resource after each change; the registry works out the difference.
import { isIpAddress } from '../config/istio-fields.js';
import type { IstioResource, ServiceEntry, WorkloadEntry, WorkloadEntrySpec } from '../config/istio-types.js';
import type { PlatformAdapter, RegistryChange, RegistryService, RegistrySink, SourceSnapshot, WorkloadInstance } from './registry-types.js';

const EMPTY_SNAPSHOT: SourceSnapshot = { services: [], inlineEndpoints: {}, workloads: [] };

function workloadOf(id: string, namespace: string, spec: WorkloadEntrySpec): WorkloadInstance {
  return {
    id,
    namespace,
    address: spec.address,
    ports: spec.ports,
    labels: spec.labels,
    serviceAccount: spec.serviceAccount,
    weight: spec.weight,
    ...(spec.locality !== undefined ? { locality: spec.locality } : {}),
  };
}

function servicesOf(entry: ServiceEntry): RegistryService[] {
  const { metadata, spec } = entry;
  const ports = [...spec.ports].sort((a, b) => a.number - b.number).map((p) => ({ number: p.number, name: p.name, protocol: p.protocol }));
  const addresses = spec.addresses.filter(isIpAddress);
  const dns = spec.resolution === 'DNS' || spec.resolution === 'DNS_ROUND_ROBIN';
  const id = `${metadata.namespace}/${metadata.name}`;
  // Wildcard hosts need original-destination clusters (or DNS endpoints listed), which the data plane does not have: left out.
  return spec.hosts.filter((h) => !h.fqdn.includes('*')).map((h) => ({
    host: h.fqdn,
    namespace: metadata.namespace,
    ports,
    addresses,
    ...(spec.workloadSelector !== undefined ? { workloadSelector: spec.workloadSelector.labels } : {}),
    source: 'config',
    ...(dns
      ? { resolution: spec.resolution as 'DNS' | 'DNS_ROUND_ROBIN', dnsEndpoints: spec.endpoints.map((e, i) => workloadOf(`${id}#${i}`, metadata.namespace, e)) }
      : {}),
  }));
}

/** The registry's view of a set of config resources (other kinds are ignored). */
export function sourceFromIstioResources(resources: readonly IstioResource[]): SourceSnapshot {
  const services: RegistryService[] = [];
  const inlineEndpoints: Record<string, WorkloadInstance[]> = {};
  const workloads: WorkloadInstance[] = [];
  const taken = new Set<string>();
  const sorted = [...resources].sort((a, b) => {
    const ka = `${a.metadata.namespace}/${a.metadata.name}`;
    const kb = `${b.metadata.namespace}/${b.metadata.name}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  for (const resource of sorted) {
    const id = `${resource.metadata.namespace}/${resource.metadata.name}`;
    if (resource.kind === 'WorkloadEntry') {
      const entry = resource as WorkloadEntry;
      workloads.push(workloadOf(id, entry.metadata.namespace, entry.spec));
      continue;
    }
    if (resource.kind !== 'ServiceEntry') continue;
    const entry = resource as ServiceEntry;
    // Two ServiceEntries for one host: the first by namespace/name wins (analyze reports the conflict).
    for (const service of servicesOf(entry)) {
      if (taken.has(service.host)) continue;
      taken.add(service.host);
      services.push(service);
      // DNS endpoints (names) travel on the service, for STRICT_DNS / LOGICAL_DNS clusters; never as EDS endpoints.
      inlineEndpoints[service.host] = service.resolution !== undefined ? [] : entry.spec.endpoints.map((e, i) => workloadOf(`${id}#${i}`, entry.metadata.namespace, e));
    }
  }
  return { services, inlineEndpoints, workloads };
}

export class IstioConfigAdapter implements PlatformAdapter {
  readonly name: string;
  private sink: RegistrySink | undefined;
  private snapshot: SourceSnapshot = EMPTY_SNAPSHOT;

  constructor(name = 'config') {
    this.name = name;
  }

  start(registry: RegistrySink): void {
    this.sink = registry;
    registry.setSource(this.name, this.snapshot);
  }

  stop(): void {
    this.sink?.removeSource(this.name);
    this.sink = undefined;
  }

  /** Replaces the resources this adapter feeds; returns the registry's change (undefined before start). */
  update(resources: readonly IstioResource[]): RegistryChange | undefined {
    this.snapshot = sourceFromIstioResources(resources);
    return this.sink?.setSource(this.name, this.snapshot);
  }
}
