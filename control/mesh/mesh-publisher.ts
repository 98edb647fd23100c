// The glue between config, registry and the ADS server: keeps one snapshot
// per connected proxy, built by the translation from the served config and
// the registry. A proxy that opens a stream is read from its node metadata,
// registered as an endpoint when it announces a workload, and given its
// config at once. Later changes are debounced, then pushed: a config or
// service change recomputes every connected proxy; an endpoint-only change
// recomputes only the ClusterLoadAssignments of the proxies that use those
// hosts. Each type's version is a hash of its resources, so a type whose
// resources did not change keeps its version and is not pushed again.
import { localityText } from '../../src/xds/locality.js';
import { createHash } from 'node:crypto';
import type { Logger } from '../../src/log.js';
import type { IstioResource } from '../config/istio-types.js';
import { PushDebouncer, type PendingChanges, type PushDebouncerOptions } from '../push/push-debouncer.js';
import { IstioConfigAdapter } from '../registry/istio-config-adapter.js';
import { readNodeMetadata } from '../registry/node-metadata.js';
import type { RegistryChange } from '../registry/registry-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { clustersOfHosts } from '../translate/cluster-name.js';
import { createMeshConfig, type MeshConfig, type MeshOptions, type ProxyIdentity } from '../translate/mesh-config.js';
import {
  NO_INBOUND,
  translateEndpoints,
  translateForProxy,
  translateInbound,
  translateOutbound,
  withInbound,
  type EnvoyResources,
  type InboundResources,
} from '../translate/translate-for-proxy.js';
import type { AdsCallbacks, NodeIdentity } from '../xds/ads-stream.js';
import { TYPE_URL, type ResourceTypeUrl } from '../xds/protos.js';
import type { SnapshotCache } from '../xds/snapshot-cache.js';
import { Snapshot, type SnapshotTypeInput } from '../xds/snapshot.js';
import { meshSecrets } from './mesh-secrets.js';
import { PushMetrics, typeLabelOf } from './push-metrics.js';

/** What the publisher reads config from (the ConfigStore). */
export interface ConfigSource {
  resources(): IstioResource[];
  subscribe(listener: () => void): () => void;
}

export interface MeshPublisherOptions {
  readonly config: ConfigSource;
  readonly registry: ServiceRegistry;
  readonly cache: SnapshotCache;
  readonly log: Logger;
  readonly debounce?: PushDebouncerOptions;
  readonly meshOptions?: Partial<MeshOptions>;
}

/** What the publisher knows of one connected proxy (node id). */
export interface PublishedNode {
  readonly id: string;
  readonly proxy: ProxyIdentity;
  /** Whether its workload is registered as an endpoint. */
  readonly registered: boolean;
  /** Why its metadata or announcement was not (fully) usable. */
  readonly problems: readonly string[];
  /** Current version per type URL. */
  readonly versions: ReadonlyMap<string, string>;
}

interface NodeState {
  readonly id: string;
  proxy: ProxyIdentity;
  /** Its SERVICE_ACCOUNT metadata ('' when not sent). */
  serviceAccount: string;
  registered: boolean;
  problems: readonly string[];
  readonly streams: Set<number>;
  resources: EnvoyResources | undefined;
  /** What it was last published from (the Secret type is added on top), so a trust bundle change re-publishes it alone. */
  lastBuilt: BuiltSnapshot | undefined;
  versions: Map<ResourceTypeUrl, string>;
  /** Outbound EDS clusters it was given (cluster_name of its ClusterLoadAssignments). */
  clusterNames: readonly string[];
  /** A sidecar's outbound part (shared with every proxy of the same scope) and its own inbound part. */
  outbound: SharedOutbound | undefined;
  inbound: InboundResources;
  inboundHash: string;
  /** The shared lists and inbound part its current resources were composed from. */
  composedFrom: { inbound: InboundResources; clusters: readonly object[]; listeners: readonly object[] } | undefined;
  /** Per type: the version that carries a change, and when that change happened (performance.now()). */
  readonly awaitingAck: Map<string, { version: string; changedAt: number }>;
  /** The scope (outboundKey) or proxyless identity (identityKey) whose cache entries it holds a reference to. */
  cacheKey: string | undefined;
}

/** The outbound resources of one scope (namespace, labels, outbound port) and their versions. */
interface SharedOutbound {
  readonly resources: EnvoyResources;
  readonly versions: ReadonlyMap<ResourceTypeUrl, string>;
}

const namesByEndpoints = new WeakMap<readonly object[], readonly string[]>();

/** The cluster names of a ClusterLoadAssignment list, computed once per (shared) list. */
function clusterNamesOf(endpoints: readonly object[]): readonly string[] {
  let names = namesByEndpoints.get(endpoints);
  if (names === undefined) {
    names = endpoints.map((cla) => (cla as { cluster_name: string }).cluster_name);
    namesByEndpoints.set(endpoints, names);
  }
  return names;
}

function assertConsistent(outbound: SharedOutbound): void {
  const input: Partial<Record<ResourceTypeUrl, { version: string; resources: readonly object[] }>> = {};
  for (const [typeUrl, field] of TYPES) input[typeUrl] = { version: outbound.versions.get(typeUrl)!, resources: outbound.resources[field] };
  const problems = new Snapshot(input).consistent();
  if (problems.length > 0) throw new Error(`inconsistent snapshot: ${problems.join('; ')}`);
}

function versionsOf(resources: EnvoyResources): Map<ResourceTypeUrl, string> {
  return new Map(TYPES.map(([typeUrl, field]) => [typeUrl, typeVersion(resources[field])]));
}

/**
 * Label keys that can change a sidecar's outbound resources: those a Sidecar's workloadSelector or a
 * VirtualService's sourceLabels test. Other labels (app, version, ...) do not, so proxies differing only in them
 * share one outbound part.
 */
function outboundLabelKeys(resources: readonly IstioResource[]): readonly string[] {
  const keys = new Set<string>();
  for (const r of resources) {
    if (r.kind === 'Sidecar') for (const k of Object.keys(r.spec.workloadSelector?.labels ?? {})) keys.add(k);
    else if (r.kind === 'VirtualService') {
      for (const http of r.spec.http) for (const m of http.match) for (const k of Object.keys(m.sourceLabels)) keys.add(k);
    }
  }
  return [...keys].sort();
}

/** Sidecars share outbound parts by scope; proxyless clients and gateways are built whole, per identity. */
function sharesOutbound(proxy: ProxyIdentity): boolean {
  return proxy.proxyless !== true && proxy.router !== true;
}

/** What a sidecar's outbound resources depend on besides config and registry (see translateOutbound). */
function outboundKey(proxy: ProxyIdentity, labelKeys: readonly string[]): string {
  const labels = labelKeys.map((k) => `${k}=${proxy.labels[k] ?? ''}`).join(',');
  // Locality-aware endpoints (priorities by the proxy's locality) differ between localities.
  return `${proxy.namespace}|${labels}|${proxy.outboundPort ?? ''}|${localityText(proxy.locality)}`;
}

interface BuiltSnapshot {
  readonly resources: EnvoyResources;
  readonly versions: Map<ResourceTypeUrl, string>;
  readonly snapshot: Snapshot;
}

/** What translation output depends on besides config and registry: the identity without the node id. */
function identityKey(proxy: ProxyIdentity): string {
  const { id: _id, locality, ...rest } = proxy;
  // The key list filters nested objects too (labels is a flat map of strings keyed by their names below).
  const keys = [...Object.keys(rest), ...Object.keys(rest.labels)].sort();
  return JSON.stringify(rest, keys) + localityText(locality);
}

/** Debounce keys: `config` (served config changed), `services` (registry service definitions), `eds:<host>`. */
type ChangeKey = string;
const CONFIG_KEY = 'config';
const SERVICES_KEY = 'services';
const EDS_PREFIX = 'eds:';

const TYPES: readonly (readonly [ResourceTypeUrl, keyof EnvoyResources])[] = [
  [TYPE_URL.CLUSTER, 'clusters'],
  [TYPE_URL.ENDPOINT, 'endpoints'],
  [TYPE_URL.LISTENER, 'listeners'],
  [TYPE_URL.ROUTE, 'routes'],
];

/** A short hash of a type's resources (translation output is sorted, so equal content gives equal JSON). */
export function typeVersion(resources: readonly object[]): string {
  return createHash('sha256').update(JSON.stringify(resources)).digest('base64url').slice(0, 16);
}

export class MeshPublisher {
  readonly metrics: PushMetrics;
  /** Pass to createAdsServer. */
  readonly callbacks: AdsCallbacks;
  private readonly nodes = new Map<string, NodeState>();
  /** Grows whenever a proxy connects or goes: a cache key for what connectedNodes() gives. */
  nodeChanges = 0;
  private readonly adapter = new IstioConfigAdapter();
  private readonly debouncer: PushDebouncer<ChangeKey>;
  private readonly unsubscribe: (() => void)[] = [];
  private meshConfig: MeshConfig | undefined;
  private labelKeys: readonly string[] | undefined;
  /**
   * Proxyless proxies' built snapshots by what determines them: translation reads the proxy's identity (never its
   * node id), the config and the registry, so proxies with the same identity get the same resources, versions and
   * Snapshot (encoded once). By identity, then by what was built (`full`, `eds|...`); cleared whenever the config or
   * the registry changes, and an identity's entries go when its last proxy leaves.
   */
  private readonly built = new Map<string, Map<string, BuiltSnapshot>>();
  /** Sidecars' latest outbound part by scope key; cleared on config and service changes, and when a scope's last proxy leaves. */
  private readonly outbounds = new Map<string, SharedOutbound>();
  /**
   * Connected proxies per cache key (a sidecar's scope, a proxyless identity). The keys are made of what proxies
   * send (labels, locality, metadata), so a cache entry lives only while a proxy that uses it is connected.
   */
  private readonly cacheUsers = new Map<string, number>();
  /** Outbound parts refreshed by the current EDS-only push, so each scope's new endpoints are built once. */
  private readonly edsRefreshed = new Map<string, SharedOutbound>();
  /** The Secrets every proxy's snapshot carries (ROOTCA), once the CA has given its trust bundle. */
  private secrets: SnapshotTypeInput | undefined;
  private closed = false;

  constructor(private readonly options: MeshPublisherOptions) {
    this.metrics = new PushMetrics(() => this.nodes.size, () => this.cacheEntries());
    this.debouncer = new PushDebouncer<ChangeKey>(options.debounce ?? { quietMs: 100, maxDelayMs: 1000 }, (changes) => this.push(changes));
    this.callbacks = {
      onStreamOpen: (node, streamId) => this.streamOpened(node, streamId),
      onStreamClosed: (node, streamId) => this.streamClosed(node, streamId),
      onAck: (node, typeUrl, version) => this.acked(node, typeUrl, version),
      onNack: (node, typeUrl, version, message) => this.nacked(node, typeUrl, version, message),
    };
    this.adapter.update(options.config.resources());
    this.adapter.start(options.registry);
    this.unsubscribe.push(
      options.registry.onChange((change) => this.registryChanged(change)),
      options.config.subscribe(() => this.configChanged()),
    );
  }

  /** The connected proxies, by node id order. */
  nodeList(): PublishedNode[] {
    return [...this.nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((n) => this.view(n));
  }

  /** Each connected proxy's identity, service account ('' unknown) and whether it is a registered endpoint. */
  *connectedNodes(): Iterable<{ readonly proxy: ProxyIdentity; readonly serviceAccount: string; readonly registered: boolean }> {
    yield* this.nodes.values();
  }

  node(id: string): PublishedNode | undefined {
    const n = this.nodes.get(id);
    return n === undefined ? undefined : this.view(n);
  }

  /** Entries of the caches keyed by what proxies send: shared outbound parts plus proxyless built snapshots. */
  cacheEntries(): number {
    let n = this.outbounds.size;
    for (const byKey of this.built.values()) n += byKey.size;
    return n;
  }

  /**
   * The mesh trust bundle changed (CA start, root rotation phase): every proxy's ROOTCA Secret is re-published at
   * once, nothing else is translated again, and only the Secret type is pushed.
   */
  setTrustBundle(pem: string): void {
    const next = meshSecrets(pem);
    if (this.closed || next.version === this.secrets?.version) return;
    this.secrets = next;
    const now = performance.now();
    for (const state of this.nodes.values()) {
      if (state.lastBuilt === undefined) continue;
      try {
        this.publish(state, state.lastBuilt, now);
      } catch (err) {
        this.failed(state, err);
      }
    }
  }

  /** Pushes pending changes now instead of after the debounce (tests, shutdown). */
  flush(): void {
    this.debouncer.flush();
  }

  /** Stops listening and pushing (the ADS server is closed by its owner). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.debouncer.stop();
    for (const off of this.unsubscribe.splice(0)) off();
    this.adapter.stop();
  }

  private view(n: NodeState): PublishedNode {
    return { id: n.id, proxy: n.proxy, registered: n.registered, problems: n.problems, versions: n.versions };
  }

  private outboundLabelKeys(): readonly string[] {
    this.labelKeys ??= outboundLabelKeys(this.options.config.resources());
    return this.labelKeys;
  }

  private config(): MeshConfig {
    this.meshConfig ??= createMeshConfig(this.options.config.resources(), this.options.meshOptions);
    return this.meshConfig;
  }

  // ---- change sources ----

  private configChanged(): void {
    if (this.closed) return;
    // The registry follows at once (its change is debounced like any other); the routing config is rebuilt on push.
    this.meshConfig = undefined;
    this.labelKeys = undefined;
    this.built.clear();
    this.outbounds.clear();
    this.adapter.update(this.options.config.resources());
    this.debouncer.changed([CONFIG_KEY]);
  }

  private registryChanged(change: RegistryChange): void {
    if (this.closed) return;
    this.built.clear();
    // Endpoint-only: the shared outbound parts stay (a proxy connecting now gets them, and the debounced EDS push
    // that follows brings it the new endpoints along with everyone else), so a connect storm does not retranslate
    // everything for every new proxy.
    if (change.services.length > 0) this.outbounds.clear();
    if (change.services.length > 0) this.debouncer.changed([SERVICES_KEY]);
    else this.debouncer.changed(change.endpoints.map((host) => `${EDS_PREFIX}${host}`));
  }

  // ---- streams ----

  private streamOpened(node: NodeIdentity, streamId: number): void {
    const { log, registry } = this.options;
    const read = readNodeMetadata(node.id, node.metadata, node.locality);
    const problems = [...read.problems];
    let state = this.nodes.get(node.id);
    if (state === undefined) {
      state = {
        id: node.id, proxy: read.proxy, serviceAccount: '', registered: false, problems, streams: new Set(), resources: undefined, lastBuilt: undefined,
        versions: new Map(), clusterNames: [], awaitingAck: new Map(), outbound: undefined, inbound: NO_INBOUND, inboundHash: '', composedFrom: undefined,
        cacheKey: undefined,
      };
      this.nodes.set(node.id, state);
    }
    state.streams.add(streamId);
    state.proxy = read.proxy;
    state.serviceAccount = read.serviceAccount ?? '';
    this.nodeChanges++;
    if (read.announcement !== undefined) {
      try {
        registry.register(read.announcement);
        state.registered = true;
      } catch (err) {
        problems.push((err as Error).message);
        this.metrics.rejectedAnnouncements++;
        if (state.registered) registry.removeNow(node.id);
        state.registered = false;
      }
    } else if (state.registered) {
      registry.removeNow(node.id); // reconnected without announcing: no longer an endpoint
      state.registered = false;
    }
    state.problems = problems;
    if (problems.length > 0) {
      log.warn({ node: node.id, streamId, problems }, `proxy ${node.id}: node metadata not fully usable (served config, ${state.registered ? 'registered' : 'not registered as an endpoint'})`);
    } else {
      log.info({ node: node.id, streamId, service: read.proxy.service, namespace: read.proxy.namespace, registered: state.registered }, 'proxy connected');
    }
    this.translate(state, undefined);
  }

  private streamClosed(node: NodeIdentity, streamId: number): void {
    if (this.closed) return; // shutting down: registry and cache go with the process
    const state = this.nodes.get(node.id);
    if (state === undefined) return;
    state.streams.delete(streamId);
    if (state.streams.size > 0) return;
    this.nodes.delete(node.id);
    this.nodeChanges++;
    this.holdCacheKey(state, undefined);
    this.options.cache.clearSnapshot(node.id);
    if (state.registered) this.options.registry.unregister(node.id); // stays an endpoint for the grace period
    this.options.log.info({ node: node.id, streamId }, 'proxy disconnected');
  }

  private acked(node: NodeIdentity, typeUrl: string, version: string): void {
    const waiting = this.nodes.get(node.id)?.awaitingAck;
    const entry = waiting?.get(typeUrl);
    if (entry === undefined || entry.version !== version) return;
    waiting!.delete(typeUrl);
    this.metrics.convergence.observe((performance.now() - entry.changedAt) / 1000);
  }

  private nacked(node: NodeIdentity, typeUrl: string, version: string, message: string): void {
    const label = typeLabelOf(typeUrl);
    if (label !== undefined) this.metrics.countNack(label);
    this.options.log.warn({ node: node.id, type: label ?? typeUrl, version, message }, `proxy ${node.id} rejected ${label ?? typeUrl}: ${message}`);
  }

  /** Moves a proxy's reference to `key` (undefined: none); a key nobody holds any more loses its cache entries. */
  private holdCacheKey(state: NodeState, key: string | undefined): void {
    const old = state.cacheKey;
    if (old === key) return;
    state.cacheKey = key;
    if (key !== undefined) this.cacheUsers.set(key, (this.cacheUsers.get(key) ?? 0) + 1);
    if (old === undefined) return;
    const left = (this.cacheUsers.get(old) ?? 1) - 1;
    if (left > 0) {
      this.cacheUsers.set(old, left);
      return;
    }
    this.cacheUsers.delete(old);
    this.outbounds.delete(old);
    this.built.delete(old);
  }

  /** The built snapshots of a proxyless identity (created empty). */
  private builtFor(identity: string): Map<string, BuiltSnapshot> {
    let byKey = this.built.get(identity);
    if (byKey === undefined) this.built.set(identity, (byKey = new Map()));
    return byKey;
  }

  // ---- pushing ----

  private push(changes: PendingChanges<ChangeKey>): void {
    if (this.closed) return;
    const started = performance.now();
    const full = changes.keys.has(CONFIG_KEY) || changes.keys.has(SERVICES_KEY);
    const hosts: string[] = [];
    if (!full) for (const key of changes.keys) if (key.startsWith(EDS_PREFIX)) hosts.push(key.slice(EDS_PREFIX.length));
    this.edsRefreshed.clear();
    // A full push translates every proxy again, and must not reuse a scope's translation cached since the services
    // change: an endpoint-only change of the same burst keeps the caches (registryChanged), so an entry built in
    // between lacks that endpoint, and a full push does no EDS refresh after it.
    if (full) this.outbounds.clear();
    // Proxies of one scope share their cluster-name list: find the affected clusters once per list.
    const affected = new Map<readonly string[], string[]>();
    for (const state of this.nodes.values()) {
      if (full || state.resources === undefined) {
        this.translate(state, changes.firstChangeAt);
        // A proxy with no snapshot yet took a translation the cache may hold from before this burst's endpoint
        // changes: refresh those below like everyone else's.
        if (full || state.resources === undefined) continue;
      }
      let names = affected.get(state.clusterNames);
      if (names === undefined) affected.set(state.clusterNames, (names = clustersOfHosts(state.clusterNames, hosts)));
      if (names.length > 0) this.translateEndpoints(state, names, changes.firstChangeAt);
    }
    this.edsRefreshed.clear();
    this.metrics.pushDuration.observe((performance.now() - started) / 1000);
  }

  /** Full translation for one proxy; a failure is logged and counted, and leaves its last snapshot in place. */
  private translate(state: NodeState, changedAt: number | undefined): void {
    try {
      if (sharesOutbound(state.proxy)) {
        const key = outboundKey(state.proxy, this.outboundLabelKeys());
        this.holdCacheKey(state, key);
        let outbound = this.outbounds.get(key);
        if (outbound === undefined) {
          const resources = translateOutbound(state.proxy, this.config(), this.options.registry);
          outbound = { resources, versions: versionsOf(resources) };
          assertConsistent(outbound);
          this.outbounds.set(key, outbound);
        }
        state.outbound = outbound;
        state.inbound = translateInbound(state.proxy, this.config(), this.options.registry);
        state.inboundHash = state.inbound === NO_INBOUND ? '' : typeVersion([...state.inbound.listeners, ...state.inbound.clusters]);
        this.publishComposed(state, changedAt);
        return;
      }
      const identity = `${state.proxy.router === true ? 'router' : 'proxyless'}|${identityKey(state.proxy)}`;
      this.holdCacheKey(state, identity);
      const cached = this.builtFor(identity);
      let built = cached.get('full');
      if (built === undefined) {
        built = this.build(undefined, translateForProxy(state.proxy, this.config(), this.options.registry));
        cached.set('full', built);
      }
      this.publish(state, built, changedAt);
    } catch (err) {
      this.failed(state, err);
    }
  }

  /** Replaces the named ClusterLoadAssignments only; the other types keep their versions, so only EDS is pushed. */
  private translateEndpoints(state: NodeState, names: readonly string[], changedAt: number): void {
    try {
      const shared = state.outbound;
      if (sharesOutbound(state.proxy) && shared !== undefined) {
        const scope = outboundKey(state.proxy, this.outboundLabelKeys());
        const key = `eds|${scope}|${names.join(',')}|${shared.versions.get(TYPE_URL.ENDPOINT)}`;
        let outbound = this.edsRefreshed.get(key);
        if (outbound === undefined) {
          const fresh = translateEndpoints(state.proxy, names, this.config(), this.options.registry) as { cluster_name: string }[];
          const byName = new Map(fresh.map((cla) => [cla.cluster_name, cla as object]));
          const endpoints = shared.resources.endpoints.map((cla) => byName.get((cla as { cluster_name: string }).cluster_name) ?? cla);
          const versions = new Map(shared.versions);
          versions.set(TYPE_URL.ENDPOINT, typeVersion(endpoints));
          outbound = { resources: { ...shared.resources, endpoints }, versions };
          assertConsistent(outbound);
          this.edsRefreshed.set(key, outbound);
          if (this.outbounds.get(scope) === shared) this.outbounds.set(scope, outbound); // proxies connecting later get it
        }
        state.outbound = outbound;
        this.publishComposed(state, changedAt);
        return;
      }
      const previous = state.resources!;
      const cached = this.builtFor(state.cacheKey!);
      const key = `eds|${names.join(',')}|${[...state.versions.values()].join(',')}`;
      let built = cached.get(key);
      if (built === undefined) {
        const fresh = translateEndpoints(state.proxy, names, this.config(), this.options.registry) as { cluster_name: string }[];
        const byName = new Map(fresh.map((cla) => [cla.cluster_name, cla as object]));
        const endpoints = previous.endpoints.map((cla) => byName.get((cla as { cluster_name: string }).cluster_name) ?? cla);
        built = this.build({ resources: previous, versions: state.versions }, { ...previous, endpoints });
        cached.set(key, built);
      }
      this.publish(state, built, changedAt);
    } catch (err) {
      this.failed(state, err);
    }
  }

  private failed(state: NodeState, err: unknown): void {
    this.metrics.pushErrors++;
    this.options.log.error({ err, node: state.id }, `push to proxy ${state.id} failed; it keeps its last config`);
  }

  /** Versions (content hashes; an unchanged list keeps its version unhashed), the Snapshot, and its consistency check. */
  private build(
    previous: { resources: EnvoyResources; versions: ReadonlyMap<ResourceTypeUrl, string> } | undefined,
    resources: EnvoyResources,
  ): BuiltSnapshot {
    const input: Partial<Record<ResourceTypeUrl, { version: string; resources: readonly object[] }>> = {};
    const versions = new Map<ResourceTypeUrl, string>();
    for (const [typeUrl, field] of TYPES) {
      const list = resources[field];
      const version = previous !== undefined && previous.resources[field] === list ? previous.versions.get(typeUrl)! : typeVersion(list);
      versions.set(typeUrl, version);
      input[typeUrl] = { version, resources: list };
    }
    const snapshot = new Snapshot(input);
    const problems = snapshot.consistent();
    if (problems.length > 0) throw new Error(`inconsistent snapshot: ${problems.join('; ')}`);
    return { resources, versions, snapshot };
  }

  /**
   * A sidecar's snapshot from its shared outbound part and its own inbound part. Versions follow from the parts'
   * versions (the inbound part is tiny), so nothing large is hashed per proxy, and the outbound resource objects
   * are shared, so the snapshot cache encodes them once for all proxies of the scope.
   */
  private publishComposed(state: NodeState, changedAt: number | undefined): void {
    const outbound = state.outbound!;
    const prev = state.composedFrom;
    // An EDS-only change leaves clusters, listeners and routes as they were: keep this proxy's composed arrays, so
    // nothing of it is rebuilt or re-encoded (the snapshot cache shares encodings by list).
    const resources =
      prev !== undefined && state.resources !== undefined && prev.inbound === state.inbound &&
      prev.clusters === outbound.resources.clusters && prev.listeners === outbound.resources.listeners
        ? { ...state.resources, endpoints: outbound.resources.endpoints, routes: outbound.resources.routes }
        : withInbound(outbound.resources, state.inbound);
    state.composedFrom = { inbound: state.inbound, clusters: outbound.resources.clusters, listeners: outbound.resources.listeners };
    const versions = new Map(outbound.versions);
    if (state.inboundHash !== '') {
      for (const typeUrl of [TYPE_URL.CLUSTER, TYPE_URL.LISTENER] as const) {
        versions.set(typeUrl, typeVersion([{ shared: versions.get(typeUrl), inbound: state.inboundHash }]));
      }
    }
    const input: Partial<Record<ResourceTypeUrl, { version: string; resources: readonly object[] }>> = {};
    for (const [typeUrl, field] of TYPES) input[typeUrl] = { version: versions.get(typeUrl)!, resources: resources[field] };
    // Consistency was checked on the shared outbound part; the inbound part (a listener and the cluster it names)
    // is consistent by construction.
    this.publish(state, { resources, versions, snapshot: new Snapshot(input) }, changedAt);
  }

  private publish(state: NodeState, built: BuiltSnapshot, changedAt: number | undefined): void {
    const { resources } = built;
    const secrets = this.secrets;
    const snapshot = secrets === undefined ? built.snapshot : built.snapshot.withType(TYPE_URL.SECRET, secrets);
    const versions = secrets === undefined ? built.versions : new Map(built.versions).set(TYPE_URL.SECRET, secrets.version);
    this.options.cache.setSnapshot(state.id, snapshot);
    state.lastBuilt = built;
    for (const [typeUrl, version] of versions) {
      if (state.versions.get(typeUrl) === version) continue;
      const label = typeLabelOf(typeUrl);
      if (label !== undefined) this.metrics.countPush(label);
      if (changedAt !== undefined) {
        const earlier = state.awaitingAck.get(typeUrl)?.changedAt;
        state.awaitingAck.set(typeUrl, { version, changedAt: earlier === undefined ? changedAt : Math.min(earlier, changedAt) });
      }
    }
    state.resources = resources;
    state.versions = new Map(versions);
    state.clusterNames = clusterNamesOf(resources.endpoints);
  }
}
