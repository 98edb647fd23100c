// Which workload sent a request, as the control plane's registry knows it:
// what Mixer's kubernetesenv adapter did (an attribute-producing step that
// turned source.ip / source.uid into source.labels, source.workload.name,
// ... from the platform's registry). Here the registry is the control plane's
// own (WorkloadEntries, ServiceEntry endpoints, the sidecars it serves, each
// with labels and a service account), and the keys are what a proxy sends:
// source.ip and the mTLS source.principal.
//
// A lookup gives only the facts every candidate workload agrees on: on one
// host (loopback) many sidecars share an address, and without a principal
// they stay apart only where their facts agree; two replicas of a workload
// agree on labels and name but not on their instance uid. Answers are
// memoized per (ip, principal), bounded, and forgotten when the registry
// changes.
import { MAX_SPIFFE_ID_LENGTH, spiffePart } from '../../src/policy/spiffe-principal.js';
import { resolveHost } from '../config/istio-fields.js';
import type { RegistryEndpoint, RegistryService, StringMap, WorkloadInstance } from '../registry/registry-types.js';
import type { ProxyIdentity } from '../translate/mesh-config.js';

/** What the directory reads. */
export interface WorkloadSource {
  /** Changes whenever what workloads() and services() give may have. */
  version(): number;
  workloads(): Iterable<WorkloadInstance>;
  /** Services and their endpoints (for a destination named only by its address); absent: none. */
  services?(): Iterable<{ readonly service: RegistryService; readonly endpoints: readonly RegistryEndpoint[] }>;
}

/** The registry's side (ServiceRegistry). */
interface RegistryWorkloads {
  /** Grows with every change of workloads() and of services and endpoints (ServiceRegistry.version misses workloads no service selects). */
  readonly workloadsVersion: number;
  workloads(): Iterable<WorkloadInstance>;
  allServices(): RegistryService[];
  endpoints(host: string): readonly RegistryEndpoint[];
}

/** The xDS side (MeshPublisher): every proxy connected now. */
interface ConnectedProxies {
  readonly nodeChanges: number;
  connectedNodes(): Iterable<{ readonly proxy: ProxyIdentity; readonly serviceAccount: string; readonly registered: boolean }>;
}

/**
 * Every workload the control plane knows: the registry's (WorkloadEntries, ServiceEntry endpoints, registered
 * sidecars) and the connected proxies that are no endpoint (a client-only sidecar, a gateway), which send requests too.
 */
export function meshWorkloads(registry: RegistryWorkloads, proxies: ConnectedProxies): WorkloadSource {
  return {
    // Both only grow: their sum changes whenever either does.
    version: () => registry.workloadsVersion + proxies.nodeChanges,
    *services() {
      for (const service of registry.allServices()) yield { service, endpoints: registry.endpoints(service.host) };
    },
    *workloads() {
      yield* registry.workloads();
      for (const node of proxies.connectedNodes()) {
        if (node.registered) continue;
        const p = node.proxy;
        yield {
          id: p.id, namespace: p.namespace, address: p.address ?? '', ports: {}, labels: p.labels, serviceAccount: node.serviceAccount, weight: 1,
          ...(p.service !== undefined ? { serviceHost: resolveHost(p.service, p.namespace) } : {}),
        };
      }
    },
  };
}

/** Istio's source.* workload attributes of one request; a field is absent when the candidates disagree on it. */
export interface WorkloadFacts {
  readonly labels?: StringMap;
  readonly workloadName?: string;
  readonly namespace?: string;
  /** The instance (source.name). */
  readonly name?: string;
  /** The instance's uid (source.uid), `isthmus://` + its id, as the sidecar's destination.uid. */
  readonly uid?: string;
  readonly workloadUid?: string;
}

/** The destination workload's attributes as the sidecar's policy filter has them statically (translate/mixer-filter.ts). */
export type DestinationFacts = Readonly<Record<string, string | StringMap>>;

/** Distinct (ip, principal) answers kept; a mesh has far fewer sources, so only a flood of forged keys reaches it. */
export const MAX_REMEMBERED = 4096;
/**
 * Longer keys are answered without being remembered: an address literal is under 64 characters and a SPIFFE ID at
 * most 2048 bytes, while a Check's strings may be megabytes (4096 kept would pin gigabytes; strings past 16 K
 * characters also hash by length alone in V8, so same-length keys would make every memo lookup compare them all).
 */
const MAX_REMEMBERED_IP = 64;
const MAX_REMEMBERED_PRINCIPAL = MAX_SPIFFE_ID_LENGTH;
const NOTHING: WorkloadFacts = Object.freeze({});

export class WorkloadDirectory {
  private builtAt = Number.NaN;
  private byIp = new Map<string, WorkloadInstance[]>();
  /** By `namespace/serviceAccount` (a mesh identity). */
  private byIdentity = new Map<string, WorkloadInstance[]>();
  private readonly remembered = new Map<string, Map<string, WorkloadFacts>>();
  private rememberedCount = 0;
  /** By `address:port` of an endpoint: the destination attributes all services there agree on. */
  private byEndpoint = new Map<string, DestinationFacts>();

  constructor(private readonly source: WorkloadSource) {}

  /** takes source.ip and source.principal (Istio's form, `td/ns/NS/sa/SA`), either may be absent; returns what the workloads they may name agree on. */
  lookup(ip: string | undefined, principal: string | undefined): WorkloadFacts {
    if (ip === undefined && principal === undefined) return NOTHING;
    this.refresh();
    if ((ip?.length ?? 0) > MAX_REMEMBERED_IP || (principal?.length ?? 0) > MAX_REMEMBERED_PRINCIPAL) return agreed(this.candidates(ip, principal));
    // Two levels (by ip, then principal): a repeat allocates no key string.
    let byPrincipal = this.remembered.get(ip ?? '');
    let facts = byPrincipal?.get(principal ?? '');
    if (facts === undefined) {
      facts = agreed(this.candidates(ip, principal));
      if (this.rememberedCount >= MAX_REMEMBERED) {
        this.remembered.clear();
        this.rememberedCount = 0;
        byPrincipal = undefined;
      }
      if (byPrincipal === undefined) this.remembered.set(ip ?? '', (byPrincipal = new Map()));
      byPrincipal.set(principal ?? '', facts);
      this.rememberedCount++;
    }
    return facts;
  }

  /**
   * With a principal: the workloads of that identity (at that address when some are, else all of them: the
   * certificate says who it is wherever it connects from). A principal that is no mesh identity names none.
   * Without: the workloads at that address.
   */
  private candidates(ip: string | undefined, principal: string | undefined): readonly WorkloadInstance[] {
    if (principal !== undefined) {
      if (principal.length > MAX_REMEMBERED_PRINCIPAL) return [];
      const uri = `spiffe://${principal}`;
      const namespace = spiffePart(uri, 'ns');
      const account = spiffePart(uri, 'sa');
      if (namespace === undefined || account === undefined) return [];
      const all = this.byIdentity.get(`${namespace}/${account}`) ?? [];
      const here = ip === undefined ? [] : all.filter((w) => w.address === ip);
      return here.length > 0 ? here : all;
    }
    return this.byIp.get(ip!) ?? [];
  }

  /** takes a destination address and port; returns the destination.* attributes of the endpoint there (empty: none, or services there disagree). */
  destination(ip: string, port: number): DestinationFacts {
    this.refresh();
    return this.byEndpoint.get(`${ip}:${port}`) ?? NOTHING_THERE;
  }

  private refresh(): void {
    const version = this.source.version();
    if (version === this.builtAt) return;
    const byIp = new Map<string, WorkloadInstance[]>();
    const byIdentity = new Map<string, WorkloadInstance[]>();
    for (const w of this.source.workloads()) {
      push(byIp, w.address, w);
      if (w.serviceAccount !== '') push(byIdentity, `${w.namespace}/${w.serviceAccount}`, w);
    }
    this.byIp = byIp;
    this.byIdentity = byIdentity;
    this.byEndpoint = endpointIndex(this.source);
    this.remembered.clear();
    this.rememberedCount = 0;
    this.builtAt = version;
  }
}

function push(map: Map<string, WorkloadInstance[]>, key: string, w: WorkloadInstance): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [w]);
  else list.push(w);
}

/** The workload's name: its `app` label, else its service's short name, else its id (as destination.workload.name is written). */
export function workloadNameOf(w: WorkloadInstance): string {
  return w.labels.app ?? w.serviceHost?.split('.')[0] ?? instanceNameOf(w);
}

function instanceNameOf(w: WorkloadInstance): string {
  const slash = w.id.lastIndexOf('/');
  return slash < 0 ? w.id : w.id.slice(slash + 1);
}

/** Whether two label maps hold the same pairs (no serializing: a proxy's labels may be large). */
function sameLabels(a: StringMap, b: StringMap): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
  return true;
}

/** The facts all candidates share (none: nothing). */
function agreed(candidates: readonly WorkloadInstance[]): WorkloadFacts {
  if (candidates.length === 0) return NOTHING;
  const first = candidates[0]!;
  const same = <T>(of: (w: WorkloadInstance) => T): T | undefined => {
    const value = of(first);
    for (let i = 1; i < candidates.length; i++) if (of(candidates[i]!) !== value) return undefined;
    return value;
  };
  const labels = candidates.every((w) => sameLabels(w.labels, first.labels)) ? Object.freeze({ ...first.labels }) : undefined;
  const workloadName = same(workloadNameOf);
  const namespace = same((w) => w.namespace);
  const facts: Record<string, unknown> = {};
  if (labels !== undefined) facts.labels = labels;
  if (workloadName !== undefined) facts.workloadName = workloadName;
  if (namespace !== undefined) facts.namespace = namespace;
  if (workloadName !== undefined && namespace !== undefined) facts.workloadUid = `istio://${namespace}/workloads/${workloadName}`;
  const name = same(instanceNameOf);
  if (name !== undefined) facts.name = name;
  const uid = same((w) => w.id);
  if (uid !== undefined) facts.uid = `isthmus://${uid}`;
  return Object.freeze(facts) as WorkloadFacts;
}

const NOTHING_THERE: DestinationFacts = Object.freeze({});

/** The statics the sidecar in front of `e` would carry, keyed by each address:port it serves `service` on; a key two disagree on keeps only what they share. */
function endpointIndex(source: WorkloadSource): Map<string, DestinationFacts> {
  const index = new Map<string, DestinationFacts>();
  for (const { service, endpoints } of source.services?.() ?? []) {
    const name = service.host.split('.')[0] ?? service.host;
    for (const e of endpoints) {
      const facts: Record<string, string | StringMap> = {
        'destination.service.host': service.host,
        'destination.service.name': name,
        'destination.service.namespace': service.namespace,
        'destination.labels': e.labels,
        'destination.workload.name': e.labels.app ?? name,
        'destination.workload.namespace': service.namespace,
        'destination.namespace': service.namespace,
        'destination.uid': `isthmus://${e.workloadId}`,
      };
      for (const port of new Set(Object.values(e.portByServicePort))) {
        const key = `${e.address}:${port}`;
        const there = index.get(key);
        index.set(key, there === undefined ? Object.freeze(facts) : shared(there, facts));
      }
    }
  }
  return index;
}

function shared(a: DestinationFacts, b: DestinationFacts): DestinationFacts {
  const out: Record<string, string | StringMap> = {};
  for (const [k, v] of Object.entries(a)) {
    const w = b[k];
    if (w === v || (typeof v === 'object' && typeof w === 'object' && sameLabels(v as StringMap, w as StringMap))) out[k] = v;
  }
  return Object.freeze(out);
}
