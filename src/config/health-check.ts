// config.core.v3.HealthCheck with http_health_check: active health checking,
// run once per proxy. At most one check per cluster; TCP, gRPC and custom
// checks and the fields for per-state intervals are not modelled.

import type { HealthCheck } from './bootstrap-types.js';
import { readUriText } from './head-text.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

/** Envoy's default expected status: 200 only. */
const DEFAULT_EXPECTED_STATUSES: readonly (readonly [number, number])[] = [[200, 201]];
const NOT_HTTP = ['tcp_health_check', 'grpc_health_check', 'custom_health_check'] as const;

/** type.v3.Int64Range [start, end) of HTTP statuses; Envoy requires 100 <= start < end <= 600. */
function readStatusRange(v: ValueReader): readonly [number, number] | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const startField = obj.field('start');
  startField.require();
  const start = startField.integer(100, 599);
  const endField = obj.field('end');
  endField.require();
  const end = endField.integer(101, 600);
  obj.done();
  if (start === undefined || end === undefined) return undefined;
  if (start >= end) {
    endField.problem(`must be greater than start (${start}); the range is [start, end)`);
    return undefined;
  }
  return [start, end];
}

function readHttpCheck(v: ValueReader): HealthCheck['http'] | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const pathField = obj.field('path');
  pathField.require();
  const path = readUriText(pathField, true);
  const hostField = obj.field('host');
  const host = readUriText(hostField, false);
  const expectedStatuses = obj.field('expected_statuses').listOf(readStatusRange);
  obj.done();
  if (path === undefined || (host === undefined && !hostField.missing) || expectedStatuses === undefined) return undefined;
  return {
    path,
    // Envoy: an empty host means the cluster's name.
    host: host === undefined || host === '' ? null : host,
    expectedStatuses: expectedStatuses.length > 0 ? expectedStatuses : DEFAULT_EXPECTED_STATUSES,
  };
}

function readHealthCheck(v: ValueReader): HealthCheck | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  let ok = true;
  const positive = (name: string): number | undefined => {
    const f = obj.field(name);
    f.require();
    const ms = f.duration();
    if (ms !== undefined && ms <= 0) f.problem('must be greater than 0');
    if (ms === undefined || ms <= 0) ok = false;
    return ms;
  };
  const timeoutMs = positive('timeout');
  const intervalMs = positive('interval');
  // Envoy checks an idle cluster less often (no_traffic_*, default 60 s); this checker always uses `interval`, which is
  // more often, never less: the fields are accepted (Envoy's examples set them).
  for (const name of ['no_traffic_interval', 'no_traffic_healthy_interval']) {
    const f = obj.field(name);
    if (!f.missing && f.duration() === undefined) ok = false;
  }
  const jitterField = obj.field('interval_jitter');
  const intervalJitterMs = jitterField.duration();
  if (intervalJitterMs === undefined && !jitterField.missing) ok = false;
  const threshold = (name: string): number | undefined => {
    const f = obj.field(name);
    f.require();
    const n = f.integer(0, UINT32_MAX);
    if (n === undefined) ok = false;
    return n;
  };
  const unhealthyThreshold = threshold('unhealthy_threshold');
  const healthyThreshold = threshold('healthy_threshold');
  let otherKind = false;
  for (const name of NOT_HTTP) {
    const f = obj.field(name);
    if (!f.missing) {
      f.problem('is not supported (only http_health_check)');
      otherKind = true;
      ok = false;
    }
  }
  const httpField = obj.field('http_health_check');
  if (!otherKind) httpField.require();
  const http = httpField.missing ? undefined : readHttpCheck(httpField);
  obj.done();
  if (!ok || http === undefined) return undefined;
  return {
    timeoutMs: timeoutMs!,
    intervalMs: intervalMs!,
    intervalJitterMs: intervalJitterMs ?? 0,
    unhealthyThreshold: unhealthyThreshold!,
    healthyThreshold: healthyThreshold!,
    http,
  };
}

/** Cluster.health_checks: at most one, HTTP; null when the list is absent or empty. */
export function readHealthChecks(v: ValueReader): HealthCheck | null | undefined {
  const items = v.list();
  if (items.length > 1) {
    v.problem(`lists ${items.length} health checks; at most one is supported`);
    return undefined;
  }
  if (items.length === 0) return null; // (a non-list was reported by list())
  return readHealthCheck(items[0]!);
}
