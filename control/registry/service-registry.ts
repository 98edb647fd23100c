// The control plane's view of services and their endpoints, merged from every
// source (config files, platform adapters, proxies that registered
// themselves). Each mutation reports what changed, split into service
// definitions (rebuild clusters/routes) and endpoint lists (an EDS push is
// enough), naming the hosts, so the xDS layer pushes only what is needed.
import {
  labelsMatch, SYSTEM_CLOCK,
  type RegistryChange, type RegistryClock, type RegistryEndpoint, type RegistryService, type RegistrySink,
  type SourceSnapshot, type WorkloadInstance,
} from './registry-types.js';
import { announcementProblems, workloadFromAnnouncement, type WorkloadAnnouncement } from './workload-announcement.js';

export interface ServiceRegistryOptions {
  /** How long a workload whose proxy went away stays an endpoint (default 10 s): a reconnecting proxy keeps its place. */
  readonly gracePeriodMs?: number;
  readonly clock?: RegistryClock;
}

/** The source name of auto-registered workloads and the services they imply. */
export const AUTO_SOURCE = 'auto';

type AutoWorkload = ReturnType<typeof workloadFromAnnouncement>;

interface AutoEntry {
  workload: AutoWorkload;
  /** Pending removal, while in the grace period. */
  removal: unknown;
}

const EMPTY: readonly RegistryEndpoint[] = Object.freeze([]);
/** Istio's label on a workload whose sidecar has a mesh identity (control/translate/peer-authentication-policy.ts). */
const TLS_MODE_LABEL = 'security.istio.io/tlsMode';

function sortedUnique(items: Iterable<string>): string[] {
  return [...new Set(items)].sort();
}

export class ServiceRegistry implements RegistrySink {
  readonly gracePeriodMs: number;
  private readonly clock: RegistryClock;
  /** Sources in the order they were first set: an earlier source's definition of a host wins. */
  private readonly sources = new Map<string, SourceSnapshot>();
  private readonly auto = new Map<string, AutoEntry>();
  /** Auto workload ids by the host they name and by namespace (for selectors): lookups stay linear in what matches. */
  private readonly autoByHost = new Map<string, Set<string>>();
  private readonly autoByNamespace = new Map<string, Set<string>>();
  /** Auto workloads by `namespace|label=value`, so a selector looks only at workloads carrying its labels. */
  private readonly autoByLabel = new Map<string, Set<string>>();
  private services = new Map<string, RegistryService>();
  private readonly endpointLists = new Map<string, readonly RegistryEndpoint[]>();
  /** JSON of each service and endpoint list, to tell a real change from a rewrite of the same data. */
  private readonly serviceKeys = new Map<string, string>();
  private readonly endpointKeys = new Map<string, string>();
  /** Per host: whether every endpoint has a mesh identity, and their service accounts (see addMeshSecurityChanges). */
  private readonly meshSecurityKeys = new Map<string, string>();
  private readonly listeners = new Set<(change: RegistryChange) => void>();
  private changeCount = 0;
  /** Calls that may have changed workloads(), reported as a change or not (a WorkloadEntry no service selects is not). */
  private workloadCalls = 0;

  constructor(options: ServiceRegistryOptions = {}) {
    this.gracePeriodMs = options.gracePeriodMs ?? 10_000;
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Increases with every change that was reported; a cache key for translations. */
  get version(): number {
    return this.changeCount;
  }

  /** Increases whenever workloads() may give something else, even when no service or endpoint changed (version does not). */
  get workloadsVersion(): number {
    return this.workloadCalls;
  }

  /** Calls listener with every non-empty change; returns the unsubscribe function. */
  onChange(listener: (change: RegistryChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  service(host: string): RegistryService | undefined {
    return this.services.get(host);
  }

  /** Every service, sorted by host. */
  allServices(): RegistryService[] {
    return [...this.services.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  }

  /** The endpoints of a host, sorted by address, port and workload id; empty for an unknown host. */
  endpoints(host: string): readonly RegistryEndpoint[] {
    return this.endpointLists.get(host) ?? EMPTY;
  }

  /** An auto-registered workload (also while in its grace period). */
  registeredWorkload(id: string): WorkloadInstance | undefined {
    return this.auto.get(id)?.workload;
  }

  /** Every workload instance any source knows (WorkloadEntries, ServiceEntry endpoints, registered proxies), unordered. */
  *workloads(): Iterable<WorkloadInstance> {
    for (const snapshot of this.sources.values()) {
      yield* snapshot.workloads;
      for (const list of Object.values(snapshot.inlineEndpoints)) yield* list;
    }
    for (const entry of this.auto.values()) yield entry.workload;
  }

  // ---- sources ----

  setSource(name: string, snapshot: SourceSnapshot): RegistryChange {
    if (name === AUTO_SOURCE) throw new Error(`source name "${AUTO_SOURCE}" is reserved for auto-registration`);
    this.sources.set(name, snapshot);
    return this.rebuildAll();
  }

  removeSource(name: string): RegistryChange {
    if (!this.sources.delete(name)) return { services: [], endpoints: [] };
    return this.rebuildAll();
  }

  // ---- auto-registration ----

  /**
   * A proxy announced its workload (its stream is up): it becomes an endpoint of the service it names and of every
   * service whose selector matches its labels. Registering an id again replaces it and cancels a pending removal.
   * Throws an Error listing every bad field (the caller answers the proxy with it).
   */
  register(announcement: WorkloadAnnouncement): RegistryChange {
    const problems = announcementProblems(announcement);
    if (problems.length > 0) throw new Error(`invalid workload announcement: ${problems.join('; ')}`);
    const workload = workloadFromAnnouncement(announcement);
    const previous = this.auto.get(workload.id);
    if (previous?.removal !== undefined) this.clock.clearTimeout(previous.removal);
    if (previous !== undefined) this.unindex(previous.workload);
    this.auto.set(workload.id, { workload, removal: undefined });
    this.index(workload);
    return this.autoChanged(previous?.workload, workload);
  }

  /** The proxy's stream ended: the workload stays an endpoint for the grace period, then goes (unless it registers again). */
  unregister(id: string): void {
    const entry = this.auto.get(id);
    if (entry === undefined || entry.removal !== undefined) return;
    entry.removal = this.clock.setTimeout(() => {
      if (this.auto.get(id) === entry) this.removeNow(id);
    }, this.gracePeriodMs);
  }

  /** Removes a registered workload at once (no grace period). */
  removeNow(id: string): RegistryChange {
    const entry = this.auto.get(id);
    if (entry === undefined) return { services: [], endpoints: [] };
    if (entry.removal !== undefined) this.clock.clearTimeout(entry.removal);
    this.auto.delete(id);
    this.unindex(entry.workload);
    return this.autoChanged(entry.workload, undefined);
  }

  /** Cancels every pending removal timer (on shutdown). */
  close(): void {
    for (const entry of this.auto.values()) {
      if (entry.removal !== undefined) this.clock.clearTimeout(entry.removal);
      entry.removal = undefined;
    }
  }

  private indexKeys(w: AutoWorkload): [Map<string, Set<string>>, string][] {
    const keys: [Map<string, Set<string>>, string][] = [[this.autoByNamespace, w.namespace]];
    if (w.serviceHost !== undefined) keys.push([this.autoByHost, w.serviceHost]);
    for (const [k, v] of Object.entries(w.labels)) keys.push([this.autoByLabel, `${w.namespace}|${k}=${v}`]);
    return keys;
  }

  private index(w: AutoWorkload): void {
    for (const [map, key] of this.indexKeys(w)) {
      let ids = map.get(key);
      if (ids === undefined) map.set(key, (ids = new Set()));
      ids.add(w.id);
    }
  }

  private unindex(w: AutoWorkload): void {
    for (const [map, key] of this.indexKeys(w)) {
      const ids = map.get(key);
      ids?.delete(w.id);
      if (ids?.size === 0) map.delete(key);
    }
  }

  /** The auto workloads that may match a selector: the smallest set of those carrying one of its labels. */
  private selectorCandidates(namespace: string, selector: Readonly<Record<string, string>>): Iterable<string> {
    let best: Set<string> | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const ids = this.autoByLabel.get(`${namespace}|${k}=${v}`);
      if (ids === undefined) return [];
      if (best === undefined || ids.size < best.size) best = ids;
    }
    return best ?? this.autoByNamespace.get(namespace) ?? [];
  }

  // ---- rebuilding ----

  /** One auto workload appeared, changed or left: only the hosts it belonged to (before or after) are recomputed. */
  private autoChanged(before: AutoWorkload | undefined, after: AutoWorkload | undefined): RegistryChange {
    this.workloadCalls++;
    const hosts = new Set<string>();
    for (const w of [before, after]) {
      if (w === undefined) continue;
      if (w.serviceHost !== undefined) hosts.add(w.serviceHost);
      for (const service of this.services.values()) {
        if (this.selects(service, w)) hosts.add(service.host);
      }
    }
    const serviceChanges: string[] = [];
    for (const host of hosts) {
      if (this.definedBySource(host) !== undefined) continue;
      const implied = this.impliedService(host);
      if (this.storeService(host, implied)) serviceChanges.push(host);
    }
    // A newly implied service may be selected by nobody else; its own endpoints are in `hosts` already.
    const endpointChanges: string[] = [];
    for (const host of hosts) if (this.storeEndpoints(host)) endpointChanges.push(host);
    this.addMeshSecurityChanges(endpointChanges, serviceChanges);
    return this.emit(serviceChanges, endpointChanges);
  }

  private rebuildAll(): RegistryChange {
    this.workloadCalls++;
    const next = new Map<string, RegistryService>();
    for (const snapshot of this.sources.values()) {
      for (const service of snapshot.services) if (!next.has(service.host)) next.set(service.host, service);
    }
    for (const host of this.autoByHost.keys()) {
      if (!next.has(host)) next.set(host, this.impliedService(host)!);
    }
    const hosts = new Set([...this.services.keys(), ...next.keys()]);
    const serviceChanges: string[] = [];
    for (const host of hosts) if (this.storeService(host, next.get(host))) serviceChanges.push(host);
    const endpointChanges: string[] = [];
    for (const host of new Set([...hosts, ...this.endpointLists.keys()])) if (this.storeEndpoints(host)) endpointChanges.push(host);
    this.addMeshSecurityChanges(endpointChanges, serviceChanges);
    return this.emit(serviceChanges, endpointChanges);
  }

  private definedBySource(host: string): RegistryService | undefined {
    for (const snapshot of this.sources.values()) {
      const found = snapshot.services.find((s) => s.host === host);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * The service registered proxies imply for host, while at least one names it. Its one port is the service port of
   * the workload with the smallest id (replicas on one host differ in app port, so they must agree on the service port).
   */
  private impliedService(host: string): RegistryService | undefined {
    const ids = this.autoByHost.get(host);
    if (ids === undefined || ids.size === 0) return undefined;
    let first: AutoWorkload | undefined;
    for (const id of ids) {
      const w = this.auto.get(id)!.workload;
      if (first === undefined || w.id < first.id) first = w;
    }
    return {
      host,
      namespace: first!.namespace,
      ports: [{ number: first!.servicePort, name: 'http', protocol: 'HTTP' as const }],
      addresses: [],
      source: AUTO_SOURCE,
    };
  }

  private selects(service: RegistryService, w: WorkloadInstance): boolean {
    return service.workloadSelector !== undefined && service.namespace === w.namespace && labelsMatch(service.workloadSelector, w.labels);
  }

  /** Stores a host's service (undefined removes it); true when it differs from what was stored. */
  private storeService(host: string, service: RegistryService | undefined): boolean {
    const key = service === undefined ? undefined : JSON.stringify(service);
    if (key === this.serviceKeys.get(host)) return false;
    if (service === undefined) {
      this.services.delete(host);
      this.serviceKeys.delete(host);
    } else {
      this.services.set(host, service);
      this.serviceKeys.set(host, key!);
    }
    return true;
  }

  /** Recomputes a host's endpoints; true when they changed. */
  private storeEndpoints(host: string): boolean {
    const list = this.computeEndpoints(host);
    const key = list.length === 0 ? undefined : JSON.stringify(list);
    if (key === this.endpointKeys.get(host)) return false;
    if (key === undefined) {
      this.endpointLists.delete(host);
      this.endpointKeys.delete(host);
    } else {
      this.endpointLists.set(host, Object.freeze(list));
      this.endpointKeys.set(host, key);
    }
    return true;
  }

  private computeEndpoints(host: string): RegistryEndpoint[] {
    const service = this.services.get(host);
    if (service === undefined) return [];
    const out: RegistryEndpoint[] = [];
    const seen = new Set<string>();
    const add = (w: WorkloadInstance, sourceName: string): void => {
      const id = `${sourceName}/${w.id}`;
      if (seen.has(id)) return;
      seen.add(id);
      out.push(toEndpoint(service, w, id));
    };
    for (const [name, snapshot] of this.sources) {
      for (const w of snapshot.inlineEndpoints[host] ?? []) add(w, name);
      if (service.workloadSelector === undefined) continue;
      for (const w of snapshot.workloads) if (this.selects(service, w)) add(w, name);
    }
    // Naming a host a source defines joins it only from that service's namespace: another namespace's ServiceEntry
    // host (not cluster-local, so the announcement check cannot tell) is not a proxy's to serve. A host only proxies
    // imply has no owner to protect (a cluster-local one is its announcers' own namespace: workload-announcement.ts).
    const implied = service.source === AUTO_SOURCE;
    for (const id of this.autoByHost.get(host) ?? []) {
      const w = this.auto.get(id)!.workload;
      if (implied || w.namespace === service.namespace) add(w, AUTO_SOURCE);
    }
    if (service.workloadSelector !== undefined) {
      for (const id of this.selectorCandidates(service.namespace, service.workloadSelector)) {
        const w = this.auto.get(id)!.workload;
        if (this.selects(service, w)) add(w, AUTO_SOURCE);
      }
    }
    return out.sort(compareEndpoints);
  }

  /**
   * Auto mTLS and the peer's SAN check depend on which endpoints have a mesh identity and on their service accounts,
   * which live in the clusters: a change there is a service change (clusters are rebuilt), not an EDS-only push.
   */
  private addMeshSecurityChanges(endpointHosts: readonly string[], serviceChanges: string[]): void {
    for (const host of endpointHosts) {
      const list = this.endpointLists.get(host) ?? EMPTY;
      // A host with no mesh-identity endpoint has no key: a mesh without mTLS keeps its EDS-only pushes.
      const key = !list.some((e) => e.labels[TLS_MODE_LABEL] === 'istio') ? undefined
        : `${list.every((e) => e.labels[TLS_MODE_LABEL] === 'istio')}|${sortedUnique(list.map((e) => e.serviceAccount)).join(',')}`;
      if (key === this.meshSecurityKeys.get(host)) continue;
      if (key === undefined) this.meshSecurityKeys.delete(host);
      else this.meshSecurityKeys.set(host, key);
      if (!serviceChanges.includes(host)) serviceChanges.push(host);
    }
  }

  private emit(services: string[], endpoints: string[]): RegistryChange {
    const change: RegistryChange = { services: sortedUnique(services), endpoints: sortedUnique(endpoints) };
    if (change.services.length === 0 && change.endpoints.length === 0) return change;
    this.changeCount++;
    for (const listener of this.listeners) listener(change);
    return change;
  }
}

function toEndpoint(service: RegistryService, w: WorkloadInstance, workloadId: string): RegistryEndpoint {
  const portByServicePort: Record<number, number> = {};
  for (const port of service.ports) portByServicePort[port.number] = w.ports[port.name] ?? w.targetPort ?? port.number;
  return {
    host: service.host,
    workloadId,
    address: w.address,
    portByServicePort,
    labels: w.labels,
    serviceAccount: w.serviceAccount,
    weight: w.weight,
    ...(w.locality !== undefined ? { locality: w.locality } : {}),
  };
}

function compareEndpoints(a: RegistryEndpoint, b: RegistryEndpoint): number {
  if (a.address !== b.address) return a.address < b.address ? -1 : 1;
  const pa = Object.values(a.portByServicePort)[0] ?? 0;
  const pb = Object.values(b.portByServicePort)[0] ?? 0;
  if (pa !== pb) return pa - pb;
  return a.workloadId < b.workloadId ? -1 : a.workloadId > b.workloadId ? 1 : 0;
}
