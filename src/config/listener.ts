// config.listener.v3.Listener: filter chains chosen by filter_chain_match (with
// the tls_inspector listener filter), each with an optional TLS transport socket
// and exactly one HTTP connection manager (inline route_config; HTTP filters:
// fault, cors, router).

import type { FilterChain, FilterChainMatch, HttpFilters, Listener, PathNormalization } from './bootstrap-types.js';
import { readDownstreamTransportSocket } from './tls-context.js';
import { readClientCertDetails, type ClientCertDetails } from './client-cert-details.js';
import { readHttpFilters } from './http-filters.js';
import { readPathNormalization } from './path-normalization-config.js';
import { readEmptyTypedConfig, readTypedConfig } from './typed-config.js';
import { readSocketAddress } from './socket-address.js';
import type { ClusterReference } from './route-action.js';
import { readRouteConfig } from './route-config.js';
import type { ValueReader } from './yaml-reader.js';

/** Envoy's Listener.listener_filters_timeout default. */
export const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000;
export const TLS_INSPECTOR_NAME = 'envoy.filters.listener.tls_inspector';
export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const HCM_FILTER_NAME = 'envoy.filters.network.http_connection_manager';
export const HCM_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export { ROUTER_FILTER_NAME, ROUTER_TYPE_URL } from './http-filters.js';
/** Envoy's default stream_idle_timeout (5 minutes). */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;

interface HcmFields {
  statPrefix: string | undefined;
  routeConfig: Listener['routeConfig'] | undefined;
  streamIdleTimeoutMs: number;
  requestHeadersTimeoutMs: number;
  httpFilters: HttpFilters | undefined;
  pathNormalization: PathNormalization | undefined;
  clientCertDetails: ClientCertDetails | undefined;
}

function readHcm(v: ValueReader, refs: ClusterReference[]): HcmFields | undefined {
  const obj = readTypedConfig(v, HCM_TYPE_URL);
  if (obj === undefined) return undefined;
  const statField = obj.field('stat_prefix');
  statField.require();
  const statPrefix = statField.nonEmptyString();
  obj.field('codec_type').enumOf(['AUTO', 'HTTP1']);
  const routeField = obj.field('route_config');
  routeField.require();
  const routeConfig = readRouteConfig(routeField, refs);
  const streamIdleTimeoutMs = obj.field('stream_idle_timeout').duration() ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  const requestHeadersTimeoutMs = obj.field('request_headers_timeout').duration() ?? 0;
  const filtersField = obj.field('http_filters');
  // No http_filters: the router alone.
  const httpFilters = filtersField.missing ? { fault: null, cors: false, order: [] } : readHttpFilters(filtersField);
  const pathNormalization = readPathNormalization(obj);
  const clientCertDetails = readClientCertDetails(obj);
  obj.done();
  return { statPrefix, routeConfig, streamIdleTimeoutMs, requestHeadersTimeoutMs, httpFilters, pathNormalization, clientCertDetails };
}

/** config.listener.v3.FilterChainMatch: server_names, transport_protocol and application_protocols. */
function readFilterChainMatch(v: ValueReader): FilterChainMatch | undefined {
  if (v.missing) return { serverNames: [], transportProtocol: '', applicationProtocols: [] };
  const obj = v.object();
  if (obj === undefined) return undefined;
  let ok = true;
  const serverNames: string[] = [];
  for (const item of obj.field('server_names').list()) {
    const name = item.nonEmptyString();
    if (name === undefined) ok = false;
    else if (name.includes('*') && !/^\*\.[^*]+$/.test(name)) {
      item.problem('may hold a wildcard only as its first label ("*.example.com")');
      ok = false;
    } else serverNames.push(name.toLowerCase());
  }
  const transportField = obj.field('transport_protocol');
  const transportProtocol = transportField.missing ? '' : transportField.enumOf(['tls', 'raw_buffer'] as const);
  const applicationProtocols: string[] = [];
  for (const item of obj.field('application_protocols').list()) {
    const p = item.nonEmptyString();
    if (p === undefined) ok = false;
    else applicationProtocols.push(p);
  }
  obj.done();
  if (!ok || transportProtocol === undefined) return undefined;
  return { serverNames, transportProtocol, applicationProtocols };
}

/** listener_filters: only envoy.filters.listener.tls_inspector. Returns whether it is configured. */
function readListenerFilters(v: ValueReader): boolean | undefined {
  let inspector = false;
  let ok = true;
  for (const item of v.list()) {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      continue;
    }
    const nameField = obj.field('name');
    nameField.require();
    const name = nameField.string();
    if (name !== undefined && name !== TLS_INSPECTOR_NAME) {
      nameField.problem(`names "${name}"; the only supported listener filter is ${TLS_INSPECTOR_NAME}`);
      ok = false;
    }
    const typed = obj.field('typed_config');
    if (!typed.missing && !readEmptyTypedConfig(typed, TLS_INSPECTOR_TYPE_URL)) ok = false;
    obj.done();
    inspector = inspector || name === TLS_INSPECTOR_NAME;
  }
  return ok ? inspector : undefined;
}

function readFilterChain(v: ValueReader, refs: ClusterReference[]): FilterChain | undefined {
  const chain = v.object();
  if (chain === undefined) return undefined;
  const match = readFilterChainMatch(chain.field('filter_chain_match'));
  const socketField = chain.field('transport_socket');
  const tls = socketField.missing ? null : readDownstreamTransportSocket(socketField);
  chain.field('name').string();
  let hcm: HcmFields | undefined;
  const filtersField = chain.field('filters');
  filtersField.require();
  const filters = filtersField.list();
  if (!filtersField.missing && filters.length !== 1) filtersField.problem(`must hold exactly one filter, ${HCM_FILTER_NAME}`);
  const filter = filters[0]?.object();
  if (filter !== undefined) {
    const nameField = filter.field('name');
    nameField.require();
    const filterName = nameField.string();
    if (filterName !== undefined && filterName !== HCM_FILTER_NAME) {
      nameField.problem(`names "${filterName}"; the only supported network filter is ${HCM_FILTER_NAME}`);
    }
    const typed = filter.field('typed_config');
    typed.require();
    hcm = readHcm(typed, refs);
    filter.done();
  }
  chain.done();
  if (match === undefined || tls === undefined || hcm === undefined || hcm.statPrefix === undefined
    || hcm.routeConfig === undefined || hcm.httpFilters === undefined || hcm.pathNormalization === undefined
    || hcm.clientCertDetails === undefined) return undefined;
  return {
    match,
    tls,
    hcm: {
      statPrefix: hcm.statPrefix,
      routeConfig: hcm.routeConfig,
      streamIdleTimeoutMs: hcm.streamIdleTimeoutMs,
      requestHeadersTimeoutMs: hcm.requestHeadersTimeoutMs,
      httpFilters: hcm.httpFilters,
      pathNormalization: hcm.pathNormalization,
      clientCertDetails: hcm.clientCertDetails,
    },
  };
}

function matchKey(m: FilterChainMatch): string {
  return JSON.stringify([[...m.serverNames].sort(), m.transportProtocol, [...m.applicationProtocols].sort()]);
}

/** config.listener.v3.Listener; `index` names an unnamed listener as Envoy would give it a generated name. */
export function readListener(v: ValueReader, index: number, refs: ClusterReference[]): Listener | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const name = obj.field('name').nonEmptyString() ?? (obj.has('name') ? undefined : `listener_${index}`);
  const addressField = obj.field('address');
  addressField.require();
  const address = readSocketAddress(addressField, true);
  // Informational in Envoy (stats, tracing); a control plane (Istio's and ours) sets it on every listener.
  const direction = obj.field('traffic_direction');
  if (!direction.missing) direction.enumOf(['UNSPECIFIED', 'INBOUND', 'OUTBOUND']);
  const tlsInspector = readListenerFilters(obj.field('listener_filters'));
  // Envoy's default: a client gets 15 s to finish what the listener filters read (the ClientHello); 0 = no limit.
  const listenerFiltersTimeoutMs = obj.field('listener_filters_timeout').duration() ?? DEFAULT_LISTENER_FILTERS_TIMEOUT_MS;
  const chainsField = obj.field('filter_chains');
  chainsField.require();
  const items = chainsField.list();
  if (!chainsField.missing && items.length === 0) chainsField.problem('must hold at least one filter chain');
  const chains: FilterChain[] = [];
  let chainsOk = true;
  const seen = new Set<string>();
  for (const item of items) {
    const chain = readFilterChain(item, refs);
    if (chain === undefined) {
      chainsOk = false;
      continue;
    }
    const key = matchKey(chain.match);
    if (seen.has(key)) {
      item.problem('has the same filter_chain_match as an earlier filter chain');
      chainsOk = false;
    }
    seen.add(key);
    chains.push(chain);
  }
  if (tlsInspector === false) {
    // Without the inspector nothing is known of the ClientHello: only one chain, matching nothing of it, can be used.
    if (items.length > 1) chainsField.problem(`holds several filter chains; choosing among them needs the ${TLS_INSPECTOR_NAME} listener filter`);
    const m = chains[0]?.match;
    if (m !== undefined && (m.serverNames.length > 0 || m.applicationProtocols.length > 0 || m.transportProtocol === 'tls')) {
      chainsField.problem(`matches on server_names, application_protocols or transport_protocol "tls", which needs the ${TLS_INSPECTOR_NAME} listener filter`);
      chainsOk = false;
    }
  }
  obj.done();
  const first = chains[0];
  if (name === undefined || address === undefined || tlsInspector === undefined || !chainsOk || first === undefined
    || items.length === 0 || (tlsInspector === false && items.length > 1)) return undefined;
  return { name, address, tlsInspector, listenerFiltersTimeoutMs, filterChains: chains, ...first.hcm };
}
