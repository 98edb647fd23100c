// What the service registry holds and how sources feed it. Every source
// (the config files, auto-registered proxies, later Kubernetes/Consul/etcd)
// speaks in these shapes, so translation never knows where a service came from.
import type { PortProtocol, StringMap } from '../config/istio-types.js';

export type { PortProtocol, StringMap };

export interface RegistryPort {
  readonly number: number;
  /** Unique within the service; workloads name their target port by it. */
  readonly name: string;
  readonly protocol: PortProtocol;
}

/** A service: one host and its ports (an Istio ServiceEntry host, or a service a proxy announced). */
export interface RegistryService {
  /** Fully qualified host (`reviews.default.svc.cluster.local`), the registry's key. */
  readonly host: string;
  readonly namespace: string;
  /** Sorted by number. */
  readonly ports: readonly RegistryPort[];
  /** Virtual IPs (plain addresses only), used as extra route domains. */
  readonly addresses: readonly string[];
  /** Workloads (WorkloadEntries, registered proxies) in the service's namespace whose labels include these are its endpoints. */
  readonly workloadSelector?: StringMap;
  /** Which source defined it: `config`, `auto` (implied by registered proxies), or an adapter's name. */
  readonly source: string;
  /**
   * A ServiceEntry with resolution DNS (STRICT_DNS clusters) or DNS_ROUND_ROBIN (LOGICAL_DNS): the proxy resolves
   * `dnsEndpoints` (addresses may be names), or the host itself when none are listed. Absent: endpoints by EDS.
   */
  readonly resolution?: 'DNS' | 'DNS_ROUND_ROBIN';
  readonly dnsEndpoints?: readonly WorkloadInstance[];
}

import type { Locality } from '../config/istio-types.js';

export type { Locality };

/** One instance of a workload, before it is matched to services. */
export interface WorkloadInstance {
  /** Unique within its source (the WorkloadEntry `namespace/name`, the proxy's node id). */
  readonly id: string;
  readonly namespace: string;
  /** IP address. */
  readonly address: string;
  /** Service port name -> the port this workload listens on; a name not here means "the service port". */
  readonly ports: Readonly<Record<string, number>>;
  /** Port for a service port not named in `ports`; absent: the service port's own number (Istio's rule). */
  readonly targetPort?: number;
  /** Includes `app` and `version` when known. */
  readonly labels: StringMap;
  /** "" when unknown. */
  readonly serviceAccount: string;
  /** >= 1. */
  readonly weight: number;
  readonly locality?: Locality;
  /** The service this workload says it belongs to (auto-registration), as a host; endpoints of that host whatever its selector. */
  readonly serviceHost?: string;
}

/** A workload instance as an endpoint of one service: its port per service port resolved. */
export interface RegistryEndpoint {
  readonly host: string;
  readonly workloadId: string;
  readonly address: string;
  /** Service port number -> the endpoint's port. */
  readonly portByServicePort: Readonly<Record<number, number>>;
  readonly labels: StringMap;
  readonly serviceAccount: string;
  readonly weight: number;
  readonly locality?: Locality;
}

/** What one source knows, replaced whole each time the source changes (the registry computes the difference). */
export interface SourceSnapshot {
  readonly services: readonly RegistryService[];
  /** Endpoints listed inside a service (ServiceEntry `endpoints`), by host. */
  readonly inlineEndpoints: Readonly<Record<string, readonly WorkloadInstance[]>>;
  /** Workloads matched to services by selector (WorkloadEntries). */
  readonly workloads: readonly WorkloadInstance[];
}

/**
 * One batch of changes. A host in `services` had its definition added, removed
 * or changed (clusters, listeners and routes must be rebuilt); a host only in
 * `endpoints` kept its definition and only its endpoint list changed, so an
 * EDS push to the proxies using its clusters is enough.
 */
export interface RegistryChange {
  /** Sorted. */
  readonly services: readonly string[];
  /** Sorted; may include hosts also in `services`. */
  readonly endpoints: readonly string[];
}

/** True when only endpoints changed: push EDS only. */
export function isEndpointOnlyChange(change: RegistryChange): boolean {
  return change.services.length === 0 && change.endpoints.length > 0;
}

/** Timers the registry uses for grace periods; tests pass a fake clock. */
export interface RegistryClock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const SYSTEM_CLOCK: RegistryClock = {
  setTimeout(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** What a feed of services and workloads must do: push snapshots into the registry between start and stop. */
export interface PlatformAdapter {
  /** Names the source in the registry (`config`, `kubernetes`, ...): unique per registry. */
  readonly name: string;
  start(registry: RegistrySink): void | Promise<void>;
  stop(): void | Promise<void>;
}

/** The part of the registry an adapter writes to. */
export interface RegistrySink {
  setSource(name: string, snapshot: SourceSnapshot): RegistryChange;
  removeSource(name: string): RegistryChange;
}

/** Every key of selector is in labels with the same value (an empty selector selects everything). */
export function labelsMatch(selector: StringMap, labels: StringMap): boolean {
  for (const key in selector) {
    if (labels[key] !== selector[key]) return false;
  }
  return true;
}
