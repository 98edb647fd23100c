// config.listener.v3.Listener with exactly one filter chain holding exactly
// one HTTP connection manager (inline route_config; HTTP filters: fault, cors, router).

import type { HttpFilters, Listener, PathNormalization } from './bootstrap-types.js';
import { readHttpFilters } from './http-filters.js';
import { readPathNormalization } from './path-normalization-config.js';
import { readTypedConfig } from './typed-config.js';
import { readSocketAddress } from './socket-address.js';
import type { ClusterReference } from './route-action.js';
import { readRouteConfig } from './route-config.js';
import type { ValueReader } from './yaml-reader.js';

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
  obj.done();
  return { statPrefix, routeConfig, streamIdleTimeoutMs, requestHeadersTimeoutMs, httpFilters, pathNormalization };
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
  const chainsField = obj.field('filter_chains');
  chainsField.require();
  const chains = chainsField.list();
  let hcm: HcmFields | undefined;
  if (!chainsField.missing && chains.length !== 1) chainsField.problem('must hold exactly one filter chain');
  const chain = chains[0]?.object();
  if (chain !== undefined) {
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
  }
  obj.done();
  if (name === undefined || address === undefined || hcm?.statPrefix === undefined || hcm.routeConfig === undefined
    || hcm.httpFilters === undefined || hcm.pathNormalization === undefined) return undefined;
  return {
    name,
    address,
    statPrefix: hcm.statPrefix,
    routeConfig: hcm.routeConfig,
    streamIdleTimeoutMs: hcm.streamIdleTimeoutMs,
    requestHeadersTimeoutMs: hcm.requestHeadersTimeoutMs,
    httpFilters: hcm.httpFilters,
    pathNormalization: hcm.pathNormalization,
  };
}
