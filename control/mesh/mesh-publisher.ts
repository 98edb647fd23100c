// The glue between config, registry and the ADS server: keeps one snapshot
// per connected proxy, built by the translation from the served config and
// the registry. A proxy that opens a stream is read from its node metadata,
// registered as an endpoint when it announces a workload, and given its
// config at once. Later changes are debounced, then pushed: a config or
// service change recomputes every connected proxy; an endpoint-only change
// recomputes only the ClusterLoadAssignments of the proxies that use those
// hosts. Each type's version is a hash of its resources, so a type whose
// resources did not change keeps its version and is not pushed again.
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
import { translateEndpoints, translateForProxy, type EnvoyResources } from '../translate/translate-for-proxy.js';
import type { AdsCallbacks, NodeIdentity } from '../xds/ads-stream.js';
import { TYPE_URL, type ResourceTypeUrl } from '../xds/protos.js';
import type { SnapshotCache } from '../xds/snapshot-cache.js';
import { Snapshot } from '../xds/snapshot.js';
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
  registered: boolean;
  problems: readonly string[];
  readonly streams: Set<number>;
  resources: EnvoyResources | undefined;
  versions: Map<ResourceTypeUrl, string>;
  /** Outbound EDS clusters it was given (cluster_name of its ClusterLoadAssignments). */
  clusterNames: readonly string[];
  /** Per type: the version that carries a change, and when that change happened (performance.now()). */
  readonly awaitingAck: Map<string, { version: string; changedAt: number }>;
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
  private readonly adapter = new IstioConfigAdapter();
  private readonly debouncer: PushDebouncer<ChangeKey>;
  private readonly unsubscribe: (() => void)[] = [];
  private meshConfig: MeshConfig | undefined;
  private closed = false;

  constructor(private readonly options: MeshPublisherOptions) {
    this.metrics = new PushMetrics(() => this.nodes.size);
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

  node(id: string): PublishedNode | undefined {
    const n = this.nodes.get(id);
    return n === undefined ? undefined : this.view(n);
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

  private config(): MeshConfig {
    this.meshConfig ??= createMeshConfig(this.options.config.resources(), this.options.meshOptions);
    return this.meshConfig;
  }

  // ---- change sources ----

  private configChanged(): void {
    if (this.closed) return;
    // The registry follows at once (its change is debounced like any other); the routing config is rebuilt on push.
    this.meshConfig = undefined;
    this.adapter.update(this.options.config.resources());
    this.debouncer.changed([CONFIG_KEY]);
  }

  private registryChanged(change: RegistryChange): void {
    if (this.closed) return;
    if (change.services.length > 0) this.debouncer.changed([SERVICES_KEY]);
    else this.debouncer.changed(change.endpoints.map((host) => `${EDS_PREFIX}${host}`));
  }

  // ---- streams ----

  private streamOpened(node: NodeIdentity, streamId: number): void {
    const { log, registry } = this.options;
    const read = readNodeMetadata(node.id, node.metadata);
    const problems = [...read.problems];
    let state = this.nodes.get(node.id);
    if (state === undefined) {
      state = {
        id: node.id, proxy: read.proxy, registered: false, problems, streams: new Set(), resources: undefined,
        versions: new Map(), clusterNames: [], awaitingAck: new Map(),
      };
      this.nodes.set(node.id, state);
    }
    state.streams.add(streamId);
    state.proxy = read.proxy;
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

  // ---- pushing ----

  private push(changes: PendingChanges<ChangeKey>): void {
    if (this.closed) return;
    const started = performance.now();
    const full = changes.keys.has(CONFIG_KEY) || changes.keys.has(SERVICES_KEY);
    const hosts: string[] = [];
    if (!full) for (const key of changes.keys) if (key.startsWith(EDS_PREFIX)) hosts.push(key.slice(EDS_PREFIX.length));
    for (const state of this.nodes.values()) {
      if (full || state.resources === undefined) {
        this.translate(state, changes.firstChangeAt);
        continue;
      }
      const names = clustersOfHosts(state.clusterNames, hosts);
      if (names.length > 0) this.translateEndpoints(state, names, changes.firstChangeAt);
    }
    this.metrics.pushDuration.observe((performance.now() - started) / 1000);
  }

  /** Full translation for one proxy; a failure is logged and counted, and leaves its last snapshot in place. */
  private translate(state: NodeState, changedAt: number | undefined): void {
    try {
      this.publish(state, translateForProxy(state.proxy, this.config(), this.options.registry), changedAt);
    } catch (err) {
      this.failed(state, err);
    }
  }

  /** Replaces the named ClusterLoadAssignments only; the other types keep their versions, so only EDS is pushed. */
  private translateEndpoints(state: NodeState, names: readonly string[], changedAt: number): void {
    try {
      const fresh = translateEndpoints(state.proxy, names, this.config(), this.options.registry) as { cluster_name: string }[];
      const byName = new Map(fresh.map((cla) => [cla.cluster_name, cla as object]));
      const endpoints = state.resources!.endpoints.map((cla) => byName.get((cla as { cluster_name: string }).cluster_name) ?? cla);
      this.publish(state, { ...state.resources!, endpoints }, changedAt);
    } catch (err) {
      this.failed(state, err);
    }
  }

  private failed(state: NodeState, err: unknown): void {
    this.metrics.pushErrors++;
    this.options.log.error({ err, node: state.id }, `push to proxy ${state.id} failed; it keeps its last config`);
  }

  private publish(state: NodeState, resources: EnvoyResources, changedAt: number | undefined): void {
    const input: Partial<Record<ResourceTypeUrl, { version: string; resources: readonly object[] }>> = {};
    const versions = new Map<ResourceTypeUrl, string>();
    for (const [typeUrl, field] of TYPES) {
      const list = resources[field];
      // Unchanged lists (the same array, as in an EDS-only push) keep their version without hashing.
      const version = state.resources !== undefined && state.resources[field] === list ? state.versions.get(typeUrl)! : typeVersion(list);
      versions.set(typeUrl, version);
      input[typeUrl] = { version, resources: list };
    }
    const snapshot = new Snapshot(input);
    const problems = snapshot.consistent();
    if (problems.length > 0) throw new Error(`inconsistent snapshot: ${problems.join('; ')}`);
    this.options.cache.setSnapshot(state.id, snapshot);
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
    state.versions = versions;
    state.clusterNames = resources.endpoints.map((cla) => (cla as { cluster_name: string }).cluster_name);
  }
}
