// What a proxy announces about its workload when it connects (from its xDS
// node metadata), checked field by field: this is peer input, so a bad value
// is a message naming the field, never a crash or a half-registered endpoint.
import { isIpAddress, resolveHost } from '../config/istio-fields.js';
import type { Locality, StringMap, WorkloadInstance } from './registry-types.js';

export interface WorkloadAnnouncement {
  /** The proxy's xDS node id: unique per proxy. */
  readonly id: string;
  /** Service name (`reviews`) or host (`reviews.default.svc.cluster.local`). */
  readonly service: string;
  readonly namespace: string;
  /** Becomes the `version` label. */
  readonly version?: string;
  /** Other labels (`app` defaults to the service name). */
  readonly labels?: StringMap;
  /** IP address other proxies reach this workload's inbound listener at. */
  readonly address: string;
  /** Port the application (or the proxy's inbound listener in front of it) listens on. */
  readonly appPort: number;
  /** Service port, when a service is implied by this announcement (no ServiceEntry for it): default appPort. */
  readonly servicePort?: number;
  readonly serviceAccount?: string;
  readonly weight?: number;
  readonly locality?: Locality;
}

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const MAX_LABELS = 64;

function isPort(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;
}

/** A cluster-local host's namespace (`<name>.<ns>.svc.cluster.local`). */
const CLUSTER_LOCAL_HOST = /\.([^.]+)\.svc\.cluster\.local$/;

/**
 * The namespace the announced service's host names when it is not the workload's own, else undefined. The TLS port
 * proves a proxy's NAMESPACE from its token; a SERVICE written as another namespace's host would make it an endpoint
 * of that namespace's service (its address in every client's EDS, its service account among the SANs they accept).
 */
function foreignNamespace(service: string, namespace: string): string | undefined {
  const named = CLUSTER_LOCAL_HOST.exec(resolveHost(service, namespace))?.[1];
  return named !== undefined && named !== namespace ? named : undefined;
}

/** Every problem with an announcement (empty when it is usable), each naming the field. */
export function announcementProblems(a: WorkloadAnnouncement): string[] {
  const problems: string[] = [];
  if (typeof a.id !== 'string' || a.id === '' || a.id.length > 256) problems.push('id must be a non-empty string of at most 256 characters');
  if (typeof a.service !== 'string' || !NAME.test(a.service)) problems.push(`service must be a DNS name, got ${JSON.stringify(a.service)}`);
  if (typeof a.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(a.namespace)) {
    problems.push(`namespace must be a DNS label, got ${JSON.stringify(a.namespace)}`);
  }
  const foreign = typeof a.service === 'string' && typeof a.namespace === 'string' ? foreignNamespace(a.service, a.namespace) : undefined;
  if (foreign !== undefined) {
    problems.push(`service host ${JSON.stringify(resolveHost(a.service, a.namespace))} is in namespace ${JSON.stringify(foreign)}, not the workload's namespace ${JSON.stringify(a.namespace)}`);
  }
  if (typeof a.address !== 'string' || !isIpAddress(a.address)) problems.push(`address must be an IP address, got ${JSON.stringify(a.address)}`);
  if (!isPort(a.appPort)) problems.push(`appPort must be a port (1-65535), got ${JSON.stringify(a.appPort)}`);
  if (a.servicePort !== undefined && !isPort(a.servicePort)) problems.push(`servicePort must be a port (1-65535), got ${JSON.stringify(a.servicePort)}`);
  if (a.version !== undefined && (typeof a.version !== 'string' || !LABEL_VALUE.test(a.version))) {
    problems.push(`version must be a label value, got ${JSON.stringify(a.version)}`);
  }
  if (a.weight !== undefined && (!Number.isInteger(a.weight) || a.weight < 1 || a.weight > 0xffffffff)) {
    problems.push(`weight must be an integer >= 1, got ${JSON.stringify(a.weight)}`);
  }
  if (a.serviceAccount !== undefined && typeof a.serviceAccount !== 'string') problems.push('serviceAccount must be a string');
  if (a.labels !== undefined) {
    const entries = typeof a.labels === 'object' && a.labels !== null ? Object.entries(a.labels) : null;
    if (entries === null || entries.length > MAX_LABELS) problems.push(`labels must be a map of at most ${MAX_LABELS} strings`);
    else {
      for (const [key, value] of entries) {
        if (typeof value !== 'string' || !LABEL_VALUE.test(value)) problems.push(`labels.${key} must be a label value, got ${JSON.stringify(value)}`);
      }
    }
  }
  if (a.locality !== undefined) {
    const l = a.locality;
    if (typeof l !== 'object' || l === null || typeof l.region !== 'string' || typeof l.zone !== 'string' || typeof l.subZone !== 'string') {
      problems.push('locality must have string region, zone and subZone');
    }
  }
  return problems;
}

/** The registry's form of a (valid) announcement: labels get `app` and `version`, the service becomes a host. */
export function workloadFromAnnouncement(
  a: WorkloadAnnouncement,
): WorkloadInstance & { readonly serviceHost: string; readonly servicePort: number; readonly targetPort: number } {
  const labels: Record<string, string> = { app: a.service.split('.')[0]!, ...(a.labels ?? {}) };
  if (a.version !== undefined) labels.version = a.version;
  return {
    id: a.id,
    namespace: a.namespace,
    address: a.address,
    ports: {},
    targetPort: a.appPort,
    labels,
    serviceAccount: a.serviceAccount ?? '',
    weight: a.weight ?? 1,
    ...(a.locality !== undefined ? { locality: a.locality } : {}),
    serviceHost: resolveHost(a.service, a.namespace),
    servicePort: a.servicePort ?? a.appPort,
  };
}
