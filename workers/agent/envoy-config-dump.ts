// The admin /config_dump in Envoy's shape (envoy.admin.v3.ConfigDump), so a
// tool that reads Envoy's config dump reads ours: `configs[]` of
// BootstrapConfigDump, ClustersConfigDump, EndpointsConfigDump (with
// ?include_eds, as Envoy), ListenersConfigDump and RoutesConfigDump, in
// Envoy's order, each resource in proto3 JSON with its `@type`. Static
// entries come from the bootstrap file as written; dynamic ones are the
// resources the xDS client accepted, with their versions. ?resource=,
// ?mask= and ?name_regex= select as Envoy's do.
import { compileFullMatch, type FullMatchRegex } from '../../src/config/re2-regex.js';
import { TYPE_URL } from '../../src/xds/xds-protos.js';

type Json = Record<string, unknown>;

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export interface DynamicResource {
  readonly name: string;
  readonly json: unknown;
  readonly version: string;
}

export interface DynamicType {
  /** version_info of the last accepted response. */
  readonly version: string;
  readonly acceptedAt: string | null;
  readonly resources: readonly DynamicResource[];
}

export interface ConfigDumpInput {
  /** The bootstrap file of the active config as written (parsed YAML/JSON); null in pure --control mode. */
  readonly fileBootstrap: unknown;
  /** When the file's config was applied (ISO time). */
  readonly fileAppliedAt: string;
  /** The xDS node announced (--control mode), for BootstrapConfigDump.bootstrap.node. */
  readonly node: { readonly id: string; readonly cluster: string } | null;
  /** --control mode: where the ADS stream goes and which variant, for bootstrap.dynamic_resources. */
  readonly ads: { readonly target: string; readonly protocol: 'delta' | 'sotw' } | null;
  /** xDS resources by type URL (--control mode); empty otherwise. */
  readonly dynamic: ReadonlyMap<string, DynamicType>;
}

function asObject(value: unknown): Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
}

function asList(value: unknown): Json[] {
  return Array.isArray(value) ? value.map(asObject) : [];
}

const typed = (typeUrl: string, json: unknown): Json => ({ '@type': typeUrl, ...asObject(wellKnownJson(json)) });

/**
 * Durations in their proto3 JSON form ("1.5s"): the xDS client keeps a decoded google.protobuf.Duration as
 * {seconds, nanos} (the config readers take both), which a proto3 JSON reader would not accept.
 */
function wellKnownJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(wellKnownJson);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Json;
  const keys = Object.keys(obj);
  if (keys.length > 0 && keys.every((k) => k === 'seconds' || k === 'nanos') && 'seconds' in obj) {
    const seconds = Number(obj.seconds);
    const nanos = Number(obj.nanos ?? 0);
    if (Number.isInteger(seconds) && Number.isInteger(nanos)) {
      const fraction = nanos === 0 ? '' : `.${String(Math.abs(nanos)).padStart(9, '0').replace(/0+$/, '')}`;
      return `${seconds}${fraction}s`;
    }
  }
  const out: Json = {};
  for (const k of keys) out[k] = wellKnownJson(obj[k]);
  return out;
}

/** Route configurations written inline in the listeners' HTTP connection managers (Envoy dumps them as static route configs). */
function inlineRouteConfigs(listeners: readonly Json[]): Json[] {
  const out: Json[] = [];
  for (const listener of listeners) {
    for (const chain of asList(listener.filter_chains)) {
      for (const filter of asList(chain.filters)) {
        const config = asObject(filter.typed_config);
        if (config['@type'] === HCM && config.route_config !== undefined) out.push(asObject(config.route_config));
      }
    }
  }
  return out;
}

function dynamicEntries(type: DynamicType | undefined, wrap: (r: DynamicResource) => Json): Json[] {
  if (type === undefined) return [];
  return [...type.resources].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(wrap);
}

/** The whole ConfigDump, before any ?resource= / ?mask= selection. */
export function buildConfigDump(input: ConfigDumpInput, includeEds: boolean): { configs: Json[] } {
  const file = asObject(input.fileBootstrap);
  const statics = asObject(file.static_resources);
  const at = input.fileAppliedAt;
  const staticListeners = asList(statics.listeners);
  const staticClusters = asList(statics.clusters);
  const cds = input.dynamic.get(TYPE_URL.CLUSTER);
  const eds = input.dynamic.get(TYPE_URL.ENDPOINT);
  const lds = input.dynamic.get(TYPE_URL.LISTENER);
  const rds = input.dynamic.get(TYPE_URL.ROUTE);
  const stamp = (t: DynamicType | undefined) => t?.acceptedAt ?? at;

  const bootstrap: Json = { ...file };
  if (input.node !== null) bootstrap.node = { id: input.node.id, cluster: input.node.cluster, ...asObject(file.node) };
  if (input.ads !== null) {
    // What `--control HOST:PORT` means in Envoy's terms: every xDS type over one ADS stream.
    const ads = { ads: {}, resource_api_version: 'V3' };
    bootstrap.dynamic_resources = {
      ads_config: {
        api_type: input.ads.protocol === 'delta' ? 'DELTA_GRPC' : 'GRPC',
        transport_api_version: 'V3',
        grpc_services: [{ google_grpc: { target_uri: input.ads.target, stat_prefix: 'ads' } }],
      },
      cds_config: ads,
      lds_config: ads,
    };
  }

  const configs: Json[] = [
    { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap, last_updated: at },
    {
      '@type': `${ADMIN}ClustersConfigDump`,
      ...(cds?.version ? { version_info: cds.version } : {}),
      static_clusters: staticClusters.map((c) => ({ cluster: typed(TYPE_URL.CLUSTER, c), last_updated: at })),
      dynamic_active_clusters: dynamicEntries(cds, (r) => ({ version_info: r.version, cluster: typed(TYPE_URL.CLUSTER, r.json), last_updated: stamp(cds) })),
    },
  ];
  if (includeEds) {
    configs.push({
      '@type': `${ADMIN}EndpointsConfigDump`,
      static_endpoint_configs: staticClusters
        .filter((c) => c.load_assignment !== undefined)
        .map((c) => ({ endpoint_config: typed(TYPE_URL.ENDPOINT, { cluster_name: c.name, ...asObject(c.load_assignment) }), last_updated: at })),
      dynamic_endpoint_configs: dynamicEntries(eds, (r) => ({ version_info: r.version, endpoint_config: typed(TYPE_URL.ENDPOINT, r.json), last_updated: stamp(eds) })),
    });
  }
  configs.push(
    {
      '@type': `${ADMIN}ListenersConfigDump`,
      ...(lds?.version ? { version_info: lds.version } : {}),
      static_listeners: staticListeners.map((l) => ({ listener: typed(TYPE_URL.LISTENER, l), last_updated: at })),
      dynamic_listeners: dynamicEntries(lds, (r) => ({
        name: r.name,
        active_state: { version_info: r.version, listener: typed(TYPE_URL.LISTENER, r.json), last_updated: stamp(lds) },
      })),
    },
    {
      '@type': `${ADMIN}RoutesConfigDump`,
      static_route_configs: [
        ...inlineRouteConfigs(staticListeners),
        ...inlineRouteConfigs(dynamicEntries(lds, (r) => asObject(r.json))),
      ].map((rc) => ({ route_config: typed(TYPE_URL.ROUTE, rc), last_updated: at })),
      dynamic_route_configs: dynamicEntries(rds, (r) => ({ version_info: r.version, route_config: typed(TYPE_URL.ROUTE, r.json), last_updated: stamp(rds) })),
    },
  );
  return { configs };
}

/** ?resource= names a repeated field of one top-level dump; its elements' message types, as Envoy's `@type`s. */
const RESOURCE_TYPES: Readonly<Record<string, string>> = {
  static_clusters: 'ClustersConfigDump.StaticCluster',
  dynamic_active_clusters: 'ClustersConfigDump.DynamicCluster',
  dynamic_warming_clusters: 'ClustersConfigDump.DynamicCluster',
  static_endpoint_configs: 'EndpointsConfigDump.StaticEndpointConfig',
  dynamic_endpoint_configs: 'EndpointsConfigDump.DynamicEndpointConfig',
  static_listeners: 'ListenersConfigDump.StaticListener',
  dynamic_listeners: 'ListenersConfigDump.DynamicListener',
  static_route_configs: 'RoutesConfigDump.StaticRouteConfig',
  dynamic_route_configs: 'RoutesConfigDump.DynamicRouteConfig',
};

/** The name a resource entry goes by (for ?name_regex=): the listener's, cluster's, route config's or cluster_name. */
function entryName(entry: Json): string {
  if (typeof entry.name === 'string') return entry.name;
  for (const key of ['listener', 'cluster', 'route_config', 'endpoint_config', 'active_state']) {
    const inner = asObject(entry[key]);
    if (key === 'active_state') return entryName(inner);
    if (typeof inner.name === 'string') return inner.name;
    if (typeof inner.cluster_name === 'string') return inner.cluster_name;
  }
  return '';
}

/** Keeps only the FieldMask `paths` (dotted) of a JSON message; `@type` always stays, as an Any needs it. */
export function applyFieldMask(message: Json, paths: readonly string[][]): Json {
  const out: Json = {};
  if (typeof message['@type'] === 'string') out['@type'] = message['@type'];
  const byHead = new Map<string, string[][]>();
  for (const path of paths) {
    const [head, ...rest] = path;
    if (head === undefined || head === '') continue;
    const list = byHead.get(head) ?? [];
    list.push(rest);
    byHead.set(head, list);
  }
  for (const [head, rests] of byHead) {
    if (!(head in message)) continue;
    const value = message[head];
    if (rests.some((r) => r.length === 0)) {
      out[head] = value; // the whole field
    } else if (Array.isArray(value)) {
      out[head] = value.map((v) => applyFieldMask(asObject(v), rests));
    } else if (value !== null && typeof value === 'object') {
      out[head] = applyFieldMask(value as Json, rests);
    }
  }
  return out;
}

export type DumpSelection = { readonly ok: true; readonly body: { configs: Json[] } } | { readonly ok: false; readonly status: number; readonly message: string };

/** Applies ?resource=, ?mask= and ?name_regex= (Envoy's meanings) to a whole dump. */
export function selectConfigDump(dump: { configs: Json[] }, query: URLSearchParams): DumpSelection {
  const resource = query.get('resource');
  const maskText = query.get('mask');
  const nameRegex = query.get('name_regex');
  const mask = maskText === null ? null : maskText.split(',').map((p) => p.trim().split('.')).filter((p) => p[0] !== '');
  let pattern: FullMatchRegex | null = null;
  if (nameRegex !== null && nameRegex !== '') {
    try {
      pattern = compileFullMatch(nameRegex); // RE2 (linear time), full match, as Envoy
    } catch (err) {
      return { ok: false, status: 400, message: `name_regex: ${(err as Error).message}` };
    }
  }
  const matches = (entry: Json) => pattern === null || pattern.testExact(entryName(entry));
  if (resource === null || resource === '') {
    const configs = dump.configs.map((config) => {
      const filtered: Json = { ...config };
      if (pattern !== null) for (const field of Object.keys(RESOURCE_TYPES)) if (Array.isArray(filtered[field])) filtered[field] = asList(filtered[field]).filter(matches);
      return mask === null ? filtered : applyFieldMask(filtered, mask);
    });
    return { ok: true, body: { configs } };
  }
  const elementType = RESOURCE_TYPES[resource];
  const holder = dump.configs.find((c) => Array.isArray(c[resource]));
  if (elementType === undefined || holder === undefined) {
    const known = Object.keys(RESOURCE_TYPES).join(', ');
    return { ok: false, status: 404, message: `no repeated field ${resource} in the config dump (one of: ${known}; endpoint configs need ?include_eds)` };
  }
  const configs = asList(holder[resource]).filter(matches).map((entry) => {
    const typedEntry: Json = { '@type': `${ADMIN}${elementType}`, ...entry };
    return mask === null ? typedEntry : applyFieldMask(typedEntry, mask);
  });
  return { ok: true, body: { configs } };
}
