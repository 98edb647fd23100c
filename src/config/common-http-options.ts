// config.core.v3.HttpProtocolOptions as a cluster's HttpProtocolOptions
// carries it (common_http_protocol_options): how long a pooled upstream
// connection may sit idle, and how many requests one connection serves.
// Also the deprecated Cluster.max_requests_per_connection, which Envoy still
// reads when the common option is not given.
import type { ObjectReader, ValueReader } from './yaml-reader.js';

/** Envoy's default idle_timeout for upstream connections: 1 hour. */
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 3_600_000;

export interface CommonHttpOptions {
  /** idle_timeout, ms: a connection with no request for this long is closed; 0 = never. */
  readonly idleTimeoutMs: number;
  /** max_requests_per_connection; undefined when not given (no limit). 0 also means no limit. */
  readonly maxRequestsPerConnection: number | undefined;
}

export const DEFAULT_COMMON_HTTP_OPTIONS: CommonHttpOptions = Object.freeze({
  idleTimeoutMs: DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  maxRequestsPerConnection: undefined,
});

/** common_http_protocol_options of an upstream HttpProtocolOptions; undefined after a problem was reported. */
export function readCommonHttpOptions(v: ValueReader): CommonHttpOptions | undefined {
  if (v.missing) return DEFAULT_COMMON_HTTP_OPTIONS;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const idleField = obj.field('idle_timeout');
  const idleTimeoutMs = idleField.missing ? DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS : idleField.duration();
  const maxField = obj.field('max_requests_per_connection');
  const maxRequestsPerConnection = maxField.missing ? undefined : maxField.integer(0, 4294967295);
  obj.done();
  if (idleTimeoutMs === undefined || (!maxField.missing && maxRequestsPerConnection === undefined)) return undefined;
  return { idleTimeoutMs, maxRequestsPerConnection };
}

/**
 * The cluster's own (deprecated) max_requests_per_connection, merged with the common option: Envoy refuses a
 * cluster that sets both. `common`: undefined when the protocol options were bad. Returns the limit (0 = none), or undefined after a problem was reported.
 */
export function readClusterRequestLimit(cluster: ObjectReader, common: CommonHttpOptions | undefined): number | undefined {
  const field = cluster.field('max_requests_per_connection');
  if (field.missing) return common === undefined ? undefined : common.maxRequestsPerConnection ?? 0;
  const value = field.integer(0, 4294967295);
  if (value === undefined || common === undefined) return undefined;
  if (common.maxRequestsPerConnection !== undefined) {
    field.problem('and typed_extension_protocol_options common_http_protocol_options.max_requests_per_connection are both set; set only the latter (this field is deprecated)');
    return undefined;
  }
  return value;
}
