// Envoy v3 shapes of the HTTP filter config the filter e2e tests write:
// http_filters for the listener's connection manager, and the
// typed_per_filter_config entries of routes and virtual hosts.

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const CORS_FILTER = 'envoy.filters.http.cors';
const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const CORS_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS_POLICY_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

/** An HTTPFault typed_config with these fields (Envoy names: delay, abort, headers, max_active_faults). */
export function faultConfig(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { '@type': FAULT_TYPE, ...fields };
}

/** A CorsPolicy typed_config for typed_per_filter_config. */
export function corsPolicy(fields: Record<string, unknown>): Record<string, unknown> {
  return { '@type': CORS_POLICY_TYPE, ...fields };
}

export function percent(value: number): Record<string, unknown> {
  return { numerator: value, denominator: 'HUNDRED' };
}

/** The http_filters list: fault and/or CORS (CORS first, as Istio orders them), then the router. */
export function httpFilters(o: { fault?: Record<string, unknown>; cors?: boolean }): Record<string, unknown>[] {
  const list: Record<string, unknown>[] = [];
  if (o.cors) list.push({ name: CORS_FILTER, typed_config: { '@type': CORS_FILTER_TYPE } });
  if (o.fault !== undefined) list.push({ name: FAULT_FILTER, typed_config: o.fault });
  list.push({ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } });
  return list;
}

/** Sets http_filters on every listener's connection manager of a bootstrap made by bootstrapWith. */
export function withHttpFilters(bootstrap: Record<string, unknown>, filters: Record<string, unknown>[]): Record<string, unknown> {
  const listeners = (bootstrap.static_resources as { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] }).listeners;
  for (const l of listeners) l.filter_chains[0]!.filters[0]!.typed_config.http_filters = filters;
  return bootstrap;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
