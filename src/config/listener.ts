// config.listener.v3.Listener: filter chains chosen by filter_chain_match (with
// the tls_inspector and http_inspector listener filters), each with an optional
// TLS transport socket and exactly one network filter: an HTTP connection
// manager (inline route_config; HTTP filters: fault, cors, router) or a
// tcp_proxy.

import type { SchemeTransformation } from './bootstrap-types.js';
import type { FilterChain, FilterChainMatch, ForwardingConfig, HttpFilters, Listener, LocalReplyConfig, PathNormalization } from './bootstrap-types.js';
import { readAccessLogs, type AccessLogConfig } from './access-log-config.js';
import { readDownstreamTransportSocket } from './tls-context.js';
import { DEFAULT_HTTP2_OPTIONS, readHcmCodec, type CodecType, type Http2Options } from './http2-options.js';
import { DEFAULT_SCHEME_TRANSFORMATION, readSchemeTransformation } from './scheme-transformation.js';
import { DEFAULT_CLIENT_CERT_DETAILS, readClientCertDetails, type ClientCertDetails } from './client-cert-details.js';
import { readHttpFilters } from './http-filters.js';
import { readPathNormalization } from './path-normalization-config.js';
import { readForwarding } from './forwarding-config.js';
import { readLocalReplyConfig } from './local-reply-config.js';
import { readEmptyTypedConfig, readTypedConfig } from './typed-config.js';
import { readSocketAddress } from './socket-address.js';
import type { ClusterReference } from './route-action.js';
import { readRouteConfig } from './route-config.js';
import { readUpgradeConfigs, type UpgradeConfig } from './upgrade-config.js';
import { readTcpProxy, TCP_PROXY_FILTER_NAME, TCP_PROXY_TYPE_URL, type TcpProxyConfig } from './tcp-proxy.js';
import type { ValueReader } from './yaml-reader.js';
import { readTracingConfig, type TracingConfig } from './tracing-config.js';

/** Envoy's Listener.listener_filters_timeout default. */
export const DEFAULT_LISTENER_FILTERS_TIMEOUT_MS = 15_000;
export const TLS_INSPECTOR_NAME = 'envoy.filters.listener.tls_inspector';
export const TLS_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
export const HTTP_INSPECTOR_NAME = 'envoy.filters.listener.http_inspector';
export const HTTP_INSPECTOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector';
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
  codec: { codecType: CodecType; http2: Http2Options } | undefined;
  accessLogs: AccessLogConfig[] | undefined;
  forwarding: ForwardingConfig | undefined;
  localReply: LocalReplyConfig | null | undefined;
  upgrades: UpgradeConfig[] | undefined;
  clientCertDetails: ClientCertDetails | undefined;
  scheme: SchemeTransformation | undefined;
  tracing: TracingConfig | null | undefined;
}

function readHcm(v: ValueReader, refs: ClusterReference[], inbound: boolean): HcmFields | undefined {
  const obj = readTypedConfig(v, HCM_TYPE_URL);
  if (obj === undefined) return undefined;
  const statField = obj.field('stat_prefix');
  statField.require();
  const statPrefix = statField.nonEmptyString();
  const codec = readHcmCodec(obj);
  const routeField = obj.field('route_config');
  routeField.require();
  const routeConfig = readRouteConfig(routeField, refs);
  const streamIdleTimeoutMs = obj.field('stream_idle_timeout').duration() ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
  const requestHeadersTimeoutMs = obj.field('request_headers_timeout').duration() ?? 0;
  const filtersField = obj.field('http_filters');
  // No http_filters: the router alone.
  const httpFilters = filtersField.missing ? { fault: null, cors: false, localRateLimit: null, compressors: [], order: [] } : readHttpFilters(filtersField);
  const pathNormalization = readPathNormalization(obj);
  // The proxy always sets x-request-id when a request has none (Envoy's default, generate_request_id true).
  const generateField = obj.field('generate_request_id');
  if (generateField.bool() === false) generateField.problem('false is not supported (the proxy always generates x-request-id when a request has none)');
  const forwarding = readForwarding(obj);
  const localReply = readLocalReplyConfig(obj);
  const accessLogs = readAccessLogs(obj.field('access_log'));
  const upgrades = readUpgradeConfigs(obj.field('upgrade_configs'));
  const clientCertDetails = readClientCertDetails(obj);
  const scheme = readSchemeTransformation(obj);
  const tracing = readTracingConfig(obj.field('tracing'), refs, inbound);
  obj.done();
  return { statPrefix, routeConfig, streamIdleTimeoutMs, requestHeadersTimeoutMs, httpFilters, pathNormalization, codec, accessLogs, forwarding, localReply, upgrades, clientCertDetails, scheme, tracing };
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

/** Which listener filters are configured (tls_inspector, http_inspector). */
interface ListenerFilterSet {
  tls: boolean;
  http: boolean;
}

const LISTENER_FILTERS: Readonly<Record<string, string>> = {
  [TLS_INSPECTOR_NAME]: TLS_INSPECTOR_TYPE_URL,
  [HTTP_INSPECTOR_NAME]: HTTP_INSPECTOR_TYPE_URL,
};

/** listener_filters: envoy.filters.listener.tls_inspector and envoy.filters.listener.http_inspector. */
function readListenerFilters(v: ValueReader): ListenerFilterSet | undefined {
  const found: ListenerFilterSet = { tls: false, http: false };
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
    const typeUrl = name === undefined || !Object.hasOwn(LISTENER_FILTERS, name) ? undefined : LISTENER_FILTERS[name];
    if (name !== undefined && typeUrl === undefined) {
      nameField.problem(`names "${name}"; the supported listener filters are ${Object.keys(LISTENER_FILTERS).join(', ')}`);
      ok = false;
    }
    const typed = obj.field('typed_config');
    if (!typed.missing && typeUrl !== undefined && !readEmptyTypedConfig(typed, typeUrl)) ok = false;
    obj.done();
    if (name === TLS_INSPECTOR_NAME) found.tls = true;
    if (name === HTTP_INSPECTOR_NAME) found.http = true;
  }
  return ok ? found : undefined;
}

/** What a tcp_proxy chain carries as its (unused) HCM fields: no routes, Envoy's defaults. */
function tcpChainHcm(statPrefix: string): FilterChain['hcm'] {
  return {
    statPrefix,
    routeConfig: { name: '', virtualHosts: [], requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] },
    streamIdleTimeoutMs: 0,
    requestHeadersTimeoutMs: 0,
    httpFilters: { fault: null, cors: false, localRateLimit: null, compressors: [], order: [] },
    pathNormalization: { normalizePath: false, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED' },
    codecType: 'HTTP1',
    http2: DEFAULT_HTTP2_OPTIONS,
    accessLogs: [],
    forwarding: { useRemoteAddress: false, xffNumTrustedHops: 0, skipXffAppend: false },
    localReply: null,
    upgrades: [],
    clientCertDetails: DEFAULT_CLIENT_CERT_DETAILS,
    scheme: DEFAULT_SCHEME_TRANSFORMATION,
  };
}

function readFilterChain(v: ValueReader, refs: ClusterReference[], inbound: boolean): FilterChain | undefined {
  const chain = v.object();
  if (chain === undefined) return undefined;
  const match = readFilterChainMatch(chain.field('filter_chain_match'));
  const socketField = chain.field('transport_socket');
  const tls = socketField.missing ? null : readDownstreamTransportSocket(socketField);
  chain.field('name').string();
  let hcm: HcmFields | undefined;
  let tcpProxy: TcpProxyConfig | undefined;
  const filtersField = chain.field('filters');
  filtersField.require();
  const filters = filtersField.list();
  if (!filtersField.missing && filters.length !== 1) filtersField.problem(`must hold exactly one filter, ${HCM_FILTER_NAME} or ${TCP_PROXY_FILTER_NAME}`);
  const filter = filters[0]?.object();
  if (filter !== undefined) {
    const nameField = filter.field('name');
    nameField.require();
    const filterName = nameField.string();
    const typed = filter.field('typed_config');
    typed.require();
    if (filterName === TCP_PROXY_FILTER_NAME) {
      const obj = readTypedConfig(typed, TCP_PROXY_TYPE_URL);
      if (obj !== undefined) tcpProxy = readTcpProxy(obj, refs);
    } else {
      if (filterName !== undefined && filterName !== HCM_FILTER_NAME) {
        nameField.problem(`names "${filterName}"; the supported network filters are ${HCM_FILTER_NAME} and ${TCP_PROXY_FILTER_NAME}`);
      }
      hcm = readHcm(typed, refs, inbound);
    }
    filter.done();
  }
  chain.done();
  if (match === undefined || tls === undefined) return undefined;
  if (tcpProxy !== undefined) return { match, tls, hcm: tcpChainHcm(tcpProxy.statPrefix), tcpProxy };
  if (hcm === undefined || hcm.statPrefix === undefined
    || hcm.routeConfig === undefined || hcm.httpFilters === undefined || hcm.pathNormalization === undefined
    || hcm.codec === undefined || hcm.accessLogs === undefined
    || hcm.forwarding === undefined || hcm.localReply === undefined || hcm.upgrades === undefined
    || hcm.clientCertDetails === undefined || hcm.scheme === undefined || hcm.tracing === undefined) return undefined;
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
      codecType: hcm.codec.codecType,
      http2: hcm.codec.http2,
      accessLogs: hcm.accessLogs,
      forwarding: hcm.forwarding,
      localReply: hcm.localReply,
      upgrades: hcm.upgrades,
      clientCertDetails: hcm.clientCertDetails,
      scheme: hcm.scheme,
      // Absent when off, so a listener without tracing reads as before.
      ...(hcm.tracing === null ? {} : { tracing: hcm.tracing }),
    },
    tcpProxy: null,
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
  const inbound = !direction.missing && direction.enumOf(['UNSPECIFIED', 'INBOUND', 'OUTBOUND']) === 'INBOUND';
  const listenerFilters = readListenerFilters(obj.field('listener_filters'));
  const tlsInspector = listenerFilters?.tls;
  const httpInspector = listenerFilters?.http;
  // Envoy's default: a client gets 15 s to finish what the listener filters read (the ClientHello); 0 = no limit.
  const listenerFiltersTimeoutMs = obj.field('listener_filters_timeout').duration() ?? DEFAULT_LISTENER_FILTERS_TIMEOUT_MS;
  // true (Istio sets it where it sniffs): at the timeout the connection goes on with what the filters found, so a
  // server-first protocol (MySQL) still reaches its raw TCP chain.
  const continueOnListenerFiltersTimeout = obj.field('continue_on_listener_filters_timeout').bool() ?? false;
  const chainsField = obj.field('filter_chains');
  chainsField.require();
  const items = chainsField.list();
  if (!chainsField.missing && items.length === 0) chainsField.problem('must hold at least one filter chain');
  const chains: FilterChain[] = [];
  let chainsOk = true;
  const seen = new Set<string>();
  for (const item of items) {
    const chain = readFilterChain(item, refs, inbound);
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
  const inspected = tlsInspector === true || httpInspector === true;
  if (listenerFilters !== undefined && !inspected) {
    // Without an inspector nothing is known of the first bytes: only one chain, matching nothing of them, can be used.
    if (items.length > 1) chainsField.problem(`holds several filter chains; choosing among them needs the ${TLS_INSPECTOR_NAME} or ${HTTP_INSPECTOR_NAME} listener filter`);
    const m = chains[0]?.match;
    if (m !== undefined && (m.serverNames.length > 0 || m.applicationProtocols.length > 0 || m.transportProtocol === 'tls')) {
      chainsField.problem(`matches on server_names, application_protocols or transport_protocol "tls", which needs the ${TLS_INSPECTOR_NAME} listener filter`);
      chainsOk = false;
    }
  }
  obj.done();
  // The listener's own HCM fields are its first HTTP chain's (a TCP-only listener has no routes).
  const first = chains.find((c) => c.tcpProxy === null) ?? chains[0];
  if (name === undefined || address === undefined || tlsInspector === undefined || httpInspector === undefined || !chainsOk
    || first === undefined || items.length === 0 || (!inspected && items.length > 1)) return undefined;
  return { name, address, tlsInspector, httpInspector, listenerFiltersTimeoutMs, continueOnListenerFiltersTimeout, filterChains: chains, ...first.hcm };
}
