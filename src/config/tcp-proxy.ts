// extensions.filters.network.tcp_proxy.v3.TcpProxy: a filter chain that relays
// bytes to a cluster (or one of weighted_clusters, picked per connection)
// instead of running an HTTP connection manager.
import type { WeightedClusterEntry } from './bootstrap-types.js';
import type { ClusterReference } from './route-action.js';
import { readTypedConfigOf } from './typed-config.js';
import { UINT32_MAX, type ObjectReader, type ValueReader } from './yaml-reader.js';

export const TCP_PROXY_FILTER_NAME = 'envoy.filters.network.tcp_proxy';
export const TCP_PROXY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
/** Envoy's TcpProxy.idle_timeout default: 1 hour. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;
/** Access loggers a tcp_proxy may name: each writes the proxy's access log (--access-log) for now. */
const ACCESS_LOGGER_TYPES = [
  'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
  'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog',
  'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog',
];

export interface TcpProxyConfig {
  readonly statPrefix: string;
  /** One entry for `cluster`; weighted_clusters' entries otherwise. */
  readonly clusters: readonly WeightedClusterEntry[];
  readonly totalWeight: number;
  /** idle_timeout, ms; 0 = none. */
  readonly idleTimeoutMs: number;
  /** max_connect_attempts (default 1): hosts tried before the connection is given up. */
  readonly maxConnectAttempts: number;
  /** access_log is configured: one line per connection when it closes. */
  readonly accessLog: boolean;
}

function readWeighted(v: ValueReader, refs: ClusterReference[]): { clusters: WeightedClusterEntry[]; total: number } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const listField = obj.field('clusters');
  listField.require();
  const items = listField.list();
  if (!listField.missing && items.length === 0) listField.problem('must list at least one cluster');
  const clusters: WeightedClusterEntry[] = [];
  let ok = true;
  for (const item of items) {
    const entry = item.object();
    if (entry === undefined) {
      ok = false;
      continue;
    }
    const nameField = entry.field('name');
    nameField.require();
    const name = nameField.nonEmptyString();
    const weightField = entry.field('weight');
    weightField.require();
    const weight = weightField.integer(0, UINT32_MAX);
    entry.done();
    if (name === undefined || weight === undefined) ok = false;
    else {
      clusters.push({ name, weight });
      refs.push({ name, at: nameField });
    }
  }
  const sum = clusters.reduce((s, c) => s + c.weight, 0);
  if (ok && clusters.length > 0 && sum === 0) {
    listField.problem('weights add up to 0; at least one cluster needs a weight above 0');
    ok = false;
  } else if (ok && sum > UINT32_MAX) {
    listField.problem(`weights add up to ${sum}, more than ${UINT32_MAX}`);
    ok = false;
  }
  obj.done();
  return ok && clusters.length > 0 ? { clusters, total: sum } : undefined;
}

function readAccessLogs(v: ValueReader): boolean | undefined {
  let ok = true;
  const items = v.list();
  for (const item of items) {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      continue;
    }
    obj.field('name').string();
    const typed = obj.field('typed_config');
    typed.require();
    const t = readTypedConfigOf(typed, ACCESS_LOGGER_TYPES);
    if (t === undefined) ok = false;
    else {
      // The format fields are the access-log formatter's business (workers/access-log*): accepted, not applied yet.
      for (const key of t.obj.keys()) t.obj.field(key);
      t.obj.done();
    }
    obj.done();
  }
  return ok ? items.length > 0 : undefined;
}

/** Reads a tcp_proxy's typed_config (the @type checked by the caller's reader). */
export function readTcpProxy(obj: ObjectReader, refs: ClusterReference[]): TcpProxyConfig | undefined {
  const statField = obj.field('stat_prefix');
  statField.require();
  const statPrefix = statField.nonEmptyString();
  const which = obj.oneOf(['cluster', 'weighted_clusters'], true);
  let clusters: WeightedClusterEntry[] | undefined;
  let totalWeight = 1;
  if (which === 'cluster') {
    const f = obj.field('cluster');
    const name = f.nonEmptyString();
    if (name !== undefined) {
      clusters = [{ name, weight: 1 }];
      refs.push({ name, at: f });
    }
  } else if (which === 'weighted_clusters') {
    const w = readWeighted(obj.field('weighted_clusters'), refs);
    if (w !== undefined) {
      clusters = w.clusters;
      totalWeight = w.total;
    }
  }
  const idleTimeoutMs = obj.field('idle_timeout').duration() ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  const attemptsField = obj.field('max_connect_attempts');
  const maxConnectAttempts = attemptsField.missing ? 1 : attemptsField.integer(1, UINT32_MAX);
  const accessLog = readAccessLogs(obj.field('access_log'));
  obj.done();
  if (statPrefix === undefined || clusters === undefined || maxConnectAttempts === undefined || accessLog === undefined) return undefined;
  return { statPrefix, clusters, totalWeight, idleTimeoutMs, maxConnectAttempts, accessLog };
}

