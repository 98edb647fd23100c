// A snapshot: for each resource type, a version string and the resources by
// name, as go-control-plane's cache.Snapshot. Resources are validated and
// encoded once, when the snapshot is first set (or explicitly encoded);
// setting one Snapshot object for many nodes encodes nothing again, and a
// type whose version did not change reuses the previous snapshot's encoding.
import { encodeResource, resourceNameOf, ResourceError, type EncodedResource } from './resource-encoder.js';
import { isResourceTypeUrl, messageNameOf, TYPE_URL, type ResourceTypeUrl } from './protos.js';

export interface SnapshotTypeInput {
  readonly version: string;
  /** Protobufjs plain objects (snake_case; Any written `{ '@type': url, ...fields }`). Treated as immutable once given. */
  readonly resources: readonly object[];
}

export type SnapshotInput = Partial<Record<ResourceTypeUrl, SnapshotTypeInput>>;

export interface EncodedType {
  readonly version: string;
  readonly resources: ReadonlyMap<string, EncodedResource>;
  /**
   * Concatenated SotW entries for a set of names (key: names joined by '\n', '*' for all), built on first use
   * and shared by every stream asking for the same set at this version.
   */
  readonly sotwBodies: Map<string, Buffer>;
}

/** Bound on the shared-body memo per type, so many distinct subscriptions cannot grow it without limit. */
const MAX_SHARED_BODIES = 1024;
/**
 * And on its bytes: proxies choose the name sets, so 1024 near-complete subsets of a large type would otherwise be
 * 1024 copies of it. Past the budget a body is built for its response and not kept.
 */
export const MAX_SHARED_BODY_BYTES = 16 * 1024 * 1024;
const sharedBodyBytes = new WeakMap<EncodedType, number>();

export class Snapshot {
  private readonly input: SnapshotInput;
  private encoded: Map<string, EncodedType> | undefined;

  constructor(input: SnapshotInput) {
    for (const typeUrl of Object.keys(input)) {
      if (!isResourceTypeUrl(typeUrl)) throw new ResourceError([`snapshot: type ${typeUrl} is not served by this control plane`]);
    }
    this.input = input;
  }

  /** The version of a type, or undefined when the snapshot does not hold that type. */
  version(typeUrl: string): string | undefined {
    return this.input[typeUrl as ResourceTypeUrl]?.version;
  }

  /** This snapshot with one type replaced (or added); encodings of the other types are shared by their lists. */
  withType(typeUrl: ResourceTypeUrl, type: SnapshotTypeInput): Snapshot {
    return new Snapshot({ ...this.input, [typeUrl]: type });
  }

  typeUrls(): ResourceTypeUrl[] {
    return Object.keys(this.input) as ResourceTypeUrl[];
  }

  isEncoded(): boolean {
    return this.encoded !== undefined;
  }

  /**
   * Validates and encodes every resource (once; later calls return at once).
   * Types whose version equals `previous`'s reuse its encoding. Throws
   * ResourceError listing every invalid resource and field.
   */
  encode(previous?: Snapshot): void {
    if (this.encoded !== undefined) return;
    const encoded = new Map<string, EncodedType>();
    const problems: string[] = [];
    for (const typeUrl of this.typeUrls()) {
      const typeInput = this.input[typeUrl]!;
      const reusable = previous?.encoded?.get(typeUrl);
      if (reusable !== undefined && reusable.version === typeInput.version) {
        encoded.set(typeUrl, reusable);
        continue;
      }
      encoded.set(typeUrl, encodeTypeShared(typeUrl, typeInput, problems));
    }
    if (problems.length > 0) throw new ResourceError(problems);
    this.encoded = encoded;
  }

  /** The encoded resources of a type; the snapshot must have been encoded. */
  encodedType(typeUrl: string): EncodedType | undefined {
    if (this.encoded === undefined) throw new Error('Snapshot.encodedType() before encode()');
    return this.encoded.get(typeUrl);
  }

  /** The caller's resources of a type by name (what a config dump prints). */
  resources(typeUrl: string): Map<string, object> {
    const out = new Map<string, object>();
    for (const resource of this.input[typeUrl as ResourceTypeUrl]?.resources ?? []) {
      const name = resourceNameOf(typeUrl, resource);
      if (typeof name === 'string') out.set(name, resource);
    }
    return out;
  }

  /**
   * Problems that would leave a proxy with dangling references, like
   * go-control-plane's Consistent(): every cluster a route names exists, and
   * every EDS cluster has a ClusterLoadAssignment. Empty when consistent.
   */
  consistent(): string[] {
    const problems: string[] = [];
    const clusters = this.resources(TYPE_URL.CLUSTER);
    const endpoints = this.resources(TYPE_URL.ENDPOINT);
    for (const [name, cluster] of clusters) {
      const record = cluster as { type?: unknown; eds_cluster_config?: { service_name?: unknown } };
      if (record.type !== 'EDS') continue;
      const serviceName = record.eds_cluster_config?.service_name;
      const wanted = typeof serviceName === 'string' && serviceName !== '' ? serviceName : name;
      if (!endpoints.has(wanted)) problems.push(`cluster ${JSON.stringify(name)} is EDS but no ClusterLoadAssignment ${JSON.stringify(wanted)} exists`);
    }
    for (const [name, route] of this.resources(TYPE_URL.ROUTE)) {
      for (const cluster of routeClusters(route)) {
        if (!clusters.has(cluster)) problems.push(`route configuration ${JSON.stringify(name)} names cluster ${JSON.stringify(cluster)}, which does not exist`);
      }
    }
    const routes = this.resources(TYPE_URL.ROUTE);
    for (const [name, listener] of this.resources(TYPE_URL.LISTENER)) {
      for (const routeName of listenerRouteNames(listener)) {
        if (!routes.has(routeName)) problems.push(`listener ${JSON.stringify(name)} names route configuration ${JSON.stringify(routeName)}, which does not exist`);
      }
    }
    return problems;
  }
}

/**
 * Encodings by resource object. Snapshots are immutable once set, and a control plane gives many proxies the same
 * resource objects (the outbound clusters, endpoints and routes of one scope), so each object is encoded once.
 */
const encodedByObject = new WeakMap<object, EncodedResource>();

function encodeCached(typeUrl: string, resource: object): EncodedResource {
  let encoded = encodedByObject.get(resource);
  if (encoded === undefined) {
    encoded = encodeResource(typeUrl, resource);
    encodedByObject.set(resource, encoded);
  }
  return encoded;
}

/** Encoded types by resource list: snapshots that share a list (one scope's endpoints, routes) share its encoding and SotW bodies. */
const encodedByList = new WeakMap<readonly unknown[], EncodedType>();

function encodeTypeShared(typeUrl: string, input: SnapshotTypeInput, problems: string[]): EncodedType {
  const list = input.resources as unknown;
  if (!Array.isArray(list)) return encodeType(typeUrl, input, problems);
  const cached = encodedByList.get(list);
  if (cached !== undefined && cached.version === input.version) return cached;
  const before = problems.length;
  const encoded = encodeType(typeUrl, input, problems);
  if (problems.length === before) encodedByList.set(list, encoded);
  return encoded;
}

function encodeType(typeUrl: string, input: SnapshotTypeInput, problems: string[]): EncodedType {
  const resources = new Map<string, EncodedResource>();
  const label = messageNameOf(typeUrl);
  if (typeof input.version !== 'string') problems.push(`snapshot ${label}: version must be a string`);
  if (!Array.isArray(input.resources)) {
    problems.push(`snapshot ${label}: resources must be an array`);
    return { version: String(input.version), resources, sotwBodies: new Map() };
  }
  for (const resource of input.resources) {
    try {
      const encoded = typeof resource === 'object' && resource !== null ? encodeCached(typeUrl, resource) : encodeResource(typeUrl, resource);
      if (resources.has(encoded.name)) problems.push(`snapshot ${label}: two resources are named ${JSON.stringify(encoded.name)}`);
      resources.set(encoded.name, encoded);
    } catch (error) {
      if (!(error instanceof ResourceError)) throw error;
      problems.push(...error.problems);
    }
  }
  return { version: input.version, resources, sotwBodies: new Map() };
}

/** The SotW body (concatenated Any entries) for `names` (undefined = every resource), shared per version. */
export function sotwBody(type: EncodedType, names: ReadonlySet<string> | undefined): Buffer {
  const key = names === undefined ? '*' : [...names].sort().join('\n');
  let body = type.sotwBodies.get(key);
  if (body !== undefined) return body;
  const parts: Buffer[] = [];
  if (names === undefined) {
    for (const resource of type.resources.values()) parts.push(resource.sotwEntry);
  } else {
    for (const name of names) {
      const resource = type.resources.get(name);
      if (resource !== undefined) parts.push(resource.sotwEntry);
    }
  }
  body = Buffer.concat(parts);
  const kept = sharedBodyBytes.get(type) ?? 0;
  if (type.sotwBodies.size < MAX_SHARED_BODIES && kept + body.length <= MAX_SHARED_BODY_BYTES) {
    type.sotwBodies.set(key, body);
    sharedBodyBytes.set(type, kept + body.length);
  }
  return body;
}

/** Every cluster name a RouteConfiguration's routes send to (cluster and weighted_clusters). */
function routeClusters(route: object): string[] {
  const names: string[] = [];
  const virtualHosts = (route as { virtual_hosts?: unknown }).virtual_hosts;
  if (!Array.isArray(virtualHosts)) return names;
  for (const host of virtualHosts) {
    const routes = (host as { routes?: unknown })?.routes;
    if (!Array.isArray(routes)) continue;
    for (const entry of routes) {
      const action = (entry as { route?: { cluster?: unknown; weighted_clusters?: { clusters?: unknown } } })?.route;
      if (action === undefined) continue;
      if (typeof action.cluster === 'string') names.push(action.cluster);
      const weighted = action.weighted_clusters?.clusters;
      if (Array.isArray(weighted)) {
        for (const cluster of weighted) if (typeof cluster?.name === 'string') names.push(cluster.name);
      }
    }
  }
  return names;
}

const HTTP_CONNECTION_MANAGER =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** RDS route configuration names of a Listener's HttpConnectionManagers (filter chains and api_listener). */
function listenerRouteNames(listener: object): string[] {
  const managers: unknown[] = [];
  const record = listener as { filter_chains?: unknown; default_filter_chain?: unknown; api_listener?: { api_listener?: unknown } };
  const chains = Array.isArray(record.filter_chains) ? [...record.filter_chains] : [];
  if (record.default_filter_chain !== undefined) chains.push(record.default_filter_chain);
  for (const chain of chains) {
    const filters = (chain as { filters?: unknown })?.filters;
    if (Array.isArray(filters)) for (const filter of filters) managers.push((filter as { typed_config?: unknown })?.typed_config);
  }
  managers.push(record.api_listener?.api_listener);
  const names: string[] = [];
  for (const manager of managers) {
    const hcm = manager as { '@type'?: unknown; rds?: { route_config_name?: unknown } } | undefined;
    if (hcm?.['@type'] !== HTTP_CONNECTION_MANAGER) continue;
    if (typeof hcm.rds?.route_config_name === 'string') names.push(hcm.rds.route_config_name);
  }
  return names;
}
