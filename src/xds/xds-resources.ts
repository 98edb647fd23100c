// From xDS resources (proto3-JSON objects, see proto-json.ts) to the data
// plane's Bootstrap: an HCM's `rds` is replaced by the RouteConfiguration of
// that name, an EDS cluster's endpoints come from the ClusterLoadAssignment of
// its service name, and the result goes through the same readers as a
// bootstrap file. Each resource is also checked on its own, so a NACK names
// the resource and the field (`Cluster x: dns_lookup_family is not supported`).
import type { Bootstrap } from '../config/bootstrap-types.js';
import { formatProblem, type ConfigProblem } from '../config/config-error.js';
import {
  parseBootstrapObject, readClusterObject, readListenerObject, readRouteConfigObject,
} from '../config/parse-resource-object.js';
import { HCM_TYPE_URL } from '../config/listener.js';
import { TYPE_URL } from './xds-protos.js';

export type Json = Record<string, unknown>;

/** Accepted resources by name, per type. */
export interface XdsResourceSet {
  readonly listeners: ReadonlyMap<string, Json>;
  readonly routes: ReadonlyMap<string, Json>;
  readonly clusters: ReadonlyMap<string, Json>;
  readonly endpoints: ReadonlyMap<string, Json>;
}

export type Assembly =
  | { readonly complete: true; readonly bootstrap: Bootstrap }
  /** Referenced resources that have not arrived (make-before-break: nothing is applied until they do). */
  | { readonly complete: false; readonly waitingFor: readonly string[] };

const KIND: Readonly<Record<string, string>> = {
  [TYPE_URL.LISTENER]: 'Listener',
  [TYPE_URL.ROUTE]: 'RouteConfiguration',
  [TYPE_URL.CLUSTER]: 'Cluster',
  [TYPE_URL.ENDPOINT]: 'ClusterLoadAssignment',
};

export function resourceLabel(typeUrl: string, name: string): string {
  return `${KIND[typeUrl] ?? typeUrl} ${name}`;
}

/** The name of a resource of `typeUrl` (ClusterLoadAssignment: cluster_name). */
export function xdsResourceName(typeUrl: string, resource: Json): string {
  const name = typeUrl === TYPE_URL.ENDPOINT ? resource.cluster_name : resource.name;
  return typeof name === 'string' ? name : '';
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function messages(problems: readonly ConfigProblem[], strip = ''): string[] {
  return problems.map((p) => formatProblem(strip === '' ? p : { ...p, message: p.message.replace(strip, '') }));
}

// ---------------------------------------------------------------- listeners (RDS)

interface HcmSite {
  readonly hcm: Json;
  readonly path: string;
}

/** The HCMs of a listener's filter chains (the readers report chains and filters that are not HCMs). */
function hcmSites(listener: Json): HcmSite[] {
  const sites: HcmSite[] = [];
  const chains = Array.isArray(listener.filter_chains) ? listener.filter_chains : [];
  chains.forEach((chain: unknown, i) => {
    const filters = isObject(chain) && Array.isArray(chain.filters) ? chain.filters : [];
    filters.forEach((filter: unknown, j) => {
      const typed = isObject(filter) ? filter.typed_config : undefined;
      if (isObject(typed) && typed['@type'] === HCM_TYPE_URL) sites.push({ hcm: typed, path: `filter_chains[${i}].filters[${j}].typed_config` });
    });
  });
  return sites;
}

/** Checks an ADS config source (`{ ads: {}, resource_api_version: V3 }`); pushes a problem per field outside that. */
function checkAdsSource(source: unknown, path: string, problems: string[]): void {
  if (!isObject(source)) {
    problems.push(`${path} is required (ads)`);
    return;
  }
  if (!isObject(source.ads)) problems.push(`${path}: only ads config sources are supported`);
  for (const key of Object.keys(source)) {
    if (key === 'ads' || key === 'initial_fetch_timeout') continue;
    if (key === 'resource_api_version' && source[key] === 'V3') continue;
    problems.push(`${path}.${key} is not supported`);
  }
}

/** RDS names a listener's HCMs refer to. */
export function listenerRouteNames(listener: Json): string[] {
  const names: string[] = [];
  for (const { hcm } of hcmSites(listener)) {
    const rds = hcm.rds;
    if (isObject(rds) && typeof rds.route_config_name === 'string') names.push(rds.route_config_name);
  }
  return names;
}

/**
 * A copy of the listener with each `rds` replaced by `route_config` (the route from `routes`, or an empty
 * placeholder when `routes` is undefined, for checking the listener alone). Problems of the rds blocks go to `problems`.
 */
function inlineRoutes(listener: Json, routes: ReadonlyMap<string, Json> | undefined, problems: string[]): Json {
  const copy = structuredClone(listener);
  for (const { hcm, path } of hcmSites(copy)) {
    if (hcm.rds === undefined) continue;
    const rds = hcm.rds;
    delete hcm.rds;
    if (hcm.route_config !== undefined) {
      problems.push(`${path} sets rds and route_config; only one is allowed`);
      continue;
    }
    if (!isObject(rds) || typeof rds.route_config_name !== 'string' || rds.route_config_name === '') {
      problems.push(`${path}.rds.route_config_name is required`);
      continue;
    }
    checkAdsSource(rds.config_source, `${path}.rds.config_source`, problems);
    for (const key of Object.keys(rds)) {
      if (key !== 'route_config_name' && key !== 'config_source') problems.push(`${path}.rds.${key} is not supported`);
    }
    const name = rds.route_config_name;
    hcm.route_config = routes?.get(name) ?? { name, virtual_hosts: [] };
  }
  return copy;
}

// ---------------------------------------------------------------- clusters (EDS)

/** The ClusterLoadAssignment name an EDS cluster waits for; undefined for other types. */
export function edsServiceName(cluster: Json): string | undefined {
  if (cluster.type !== 'EDS') return undefined;
  const config = isObject(cluster.eds_cluster_config) ? cluster.eds_cluster_config : {};
  const serviceName = config.service_name;
  return typeof serviceName === 'string' && serviceName !== '' ? serviceName : xdsResourceName(TYPE_URL.CLUSTER, cluster);
}

/** The cluster in the data plane's STATIC form: EDS endpoints inlined from `endpoints` (or none, to check it alone). */
function staticCluster(cluster: Json, endpoints: ReadonlyMap<string, Json> | undefined, problems: string[]): Json {
  const serviceName = edsServiceName(cluster);
  if (serviceName === undefined) return cluster;
  const copy: Json = { ...cluster };
  delete copy.type;
  delete copy.eds_cluster_config;
  const config = cluster.eds_cluster_config;
  if (!isObject(config)) {
    problems.push('eds_cluster_config is required for type EDS');
  } else {
    checkAdsSource(config.eds_config, 'eds_cluster_config.eds_config', problems);
    for (const key of Object.keys(config)) {
      if (key !== 'eds_config' && key !== 'service_name') problems.push(`eds_cluster_config.${key} is not supported`);
    }
  }
  if (cluster.load_assignment !== undefined) problems.push('load_assignment is not allowed with type EDS (endpoints come from EDS)');
  const assignment = endpoints?.get(serviceName);
  copy.load_assignment = { ...(assignment ?? {}), cluster_name: xdsResourceName(TYPE_URL.CLUSTER, cluster) };
  return copy;
}

/** Cluster names a RouteConfiguration's routes send to (mirrors included). */
export function routeClusterNames(route: Json): string[] {
  const names: string[] = [];
  const hosts = Array.isArray(route.virtual_hosts) ? route.virtual_hosts : [];
  for (const host of hosts) {
    const routes = isObject(host) && Array.isArray(host.routes) ? host.routes : [];
    for (const entry of routes) {
      const action = isObject(entry) && isObject(entry.route) ? entry.route : undefined;
      if (action === undefined) continue;
      if (typeof action.cluster === 'string') names.push(action.cluster);
      const weighted = isObject(action.weighted_clusters) && Array.isArray(action.weighted_clusters.clusters) ? action.weighted_clusters.clusters : [];
      for (const item of weighted) if (isObject(item) && typeof item.name === 'string') names.push(item.name);
      // Mirror clusters must exist too (the readers check them like route clusters).
      const mirrors = Array.isArray(action.request_mirror_policies) ? action.request_mirror_policies : [];
      for (const item of mirrors) if (isObject(item) && typeof item.cluster === 'string') names.push(item.cluster);
    }
  }
  return names;
}

// ---------------------------------------------------------------- validation and assembly

/** Every problem of one resource checked on its own, each as `Kind name: field message`; empty when valid. */
export function validateXdsResource(typeUrl: string, resource: Json): string[] {
  const name = xdsResourceName(typeUrl, resource);
  const label = resourceLabel(typeUrl, name === '' ? '(unnamed)' : name);
  const own: string[] = [];
  let found: readonly ConfigProblem[] = [];
  let strip = '';
  switch (typeUrl) {
    case TYPE_URL.LISTENER:
      found = readListenerObject(inlineRoutes(resource, undefined, own), label).problems;
      break;
    case TYPE_URL.ROUTE:
      found = readRouteConfigObject(resource, label).problems;
      break;
    case TYPE_URL.CLUSTER:
      found = readClusterObject(staticCluster(resource, undefined, own), label).problems;
      break;
    case TYPE_URL.ENDPOINT:
      // Read as the load_assignment of a cluster of the same name (the same reader the file path uses).
      found = readClusterObject({ name: name === '' ? 'unnamed' : name, load_assignment: resource }, label).problems;
      strip = 'load_assignment.';
      break;
    default:
      return [`${label}: type ${typeUrl} is not supported by this proxy`];
  }
  return [...own.map((message) => `${label}: ${message}`), ...messages(found, strip)];
}

function sortedValues(map: ReadonlyMap<string, Json>): Json[] {
  return [...map.keys()].sort().map((key) => map.get(key)!);
}

/**
 * The Bootstrap for a set of individually valid resources, or what is still missing: a listener's route
 * configuration, a route's cluster, an EDS cluster's endpoints. Throws ConfigError for problems between
 * resources (two listeners on one port...), labelled `xDS`.
 */
export function assembleBootstrap(set: XdsResourceSet): Assembly {
  const waitingFor: string[] = [];
  for (const [name, listener] of set.listeners) {
    for (const routeName of listenerRouteNames(listener)) {
      const route = set.routes.get(routeName);
      if (route === undefined) waitingFor.push(`RouteConfiguration ${routeName} (for Listener ${name})`);
      else for (const cluster of routeClusterNames(route)) {
        if (!set.clusters.has(cluster)) waitingFor.push(`Cluster ${cluster} (for RouteConfiguration ${routeName})`);
      }
    }
  }
  for (const [name, cluster] of set.clusters) {
    const serviceName = edsServiceName(cluster);
    if (serviceName !== undefined && !set.endpoints.has(serviceName)) waitingFor.push(`ClusterLoadAssignment ${serviceName} (for Cluster ${name})`);
  }
  if (waitingFor.length > 0) return { complete: false, waitingFor: [...new Set(waitingFor)] };
  const ignored: string[] = []; // rds/eds problems were reported when each resource was validated
  const bootstrap = parseBootstrapObject(
    {
      static_resources: {
        listeners: sortedValues(set.listeners).map((listener) => inlineRoutes(listener, set.routes, ignored)),
        clusters: sortedValues(set.clusters).map((cluster) => staticCluster(cluster, set.endpoints, ignored)),
      },
    },
    'xDS',
  );
  return { complete: true, bootstrap };
}
