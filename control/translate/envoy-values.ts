// Small builders for the protobufjs plain-object form every translated
// resource uses (snake_case proto field names; wrappers as `{ value }`;
// durations as `{ seconds, nanos }`; Any fields proto3-JSON style with '@type').

export const TYPE_PREFIX = 'type.googleapis.com/';

export const HCM_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
export const ROUTER_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.http.router.v3.Router`;
export const FAULT_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.http.fault.v3.HTTPFault`;
export const CORS_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.http.cors.v3.Cors`;
export const CORS_POLICY_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.http.cors.v3.CorsPolicy`;

export const HCM_FILTER = 'envoy.filters.network.http_connection_manager';
export const ROUTER_FILTER = 'envoy.filters.http.router';
export const FAULT_FILTER = 'envoy.filters.http.fault';
export const CORS_FILTER = 'envoy.filters.http.cors';

/** The config source of every dynamic resource: the same ADS stream, v3. */
export function adsConfigSource(): object {
  return { ads: {}, resource_api_version: 'V3' };
}

/** Milliseconds as google.protobuf.Duration. */
export function duration(ms: number): { seconds: number; nanos: number } {
  const whole = Math.floor(ms / 1000);
  return { seconds: whole, nanos: Math.round((ms - whole * 1000) * 1e6) };
}

/** google.protobuf.UInt32Value (and the other numeric wrappers). */
export function wrapped(value: number): { value: number } {
  return { value };
}

/** A percentage (0-100, fractions allowed) as envoy.type.v3.FractionalPercent per million. */
export function fractionalPercent(percent: number): object {
  return { numerator: Math.round(percent * 10_000), denominator: 'MILLION' };
}

export function socketAddress(address: string, port: number): object {
  return { socket_address: { address, port_value: port } };
}
