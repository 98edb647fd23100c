// envoy.extensions.filters.http.ext_authz.v3.ExtAuthz, the gRPC form only:
// grpc_service.envoy_grpc.cluster_name (the Authorization server's cluster;
// CONTROL_PLANE_CLUSTER, Istio's name for the bootstrap's xDS cluster, means
// the control plane the proxy gets xDS from unless the config has a cluster
// of that name), grpc_service.timeout (Envoy's default 200ms),
// failure_mode_allow, status_on_error, transport_api_version (V3 only), and
// filter_enabled_metadata in the one shape Istio's CUSTOM translation uses:
// the RBAC filter's `<shadow_rules_stat_prefix>shadow_effective_policy_id`
// matched by a string prefix/exact (the filter then runs only for requests
// whose shadow rules of that prefix matched a policy). Other fields
// (http_service, with_request_body, ...) are refused by name.
import { readTypedConfig } from './typed-config.js';
import type { ValueReader } from './yaml-reader.js';

export { CONTROL_PLANE_CLUSTER, EXT_AUTHZ_FILTER_NAME } from './http-filter-names.js';
export const EXT_AUTHZ_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const SHADOW_KEY_SUFFIX = 'shadow_effective_policy_id';
const RBAC_METADATA_FILTER = 'envoy.filters.http.rbac';

export interface ExtAuthzConfig {
  readonly clusterName: string;
  readonly timeoutMs: number;
  readonly failureModeAllow: boolean;
  /** HTTP status when the server fails and failure_mode_allow is false (Envoy's default 403). */
  readonly statusOnError: number;
  /** Runs only when the RBAC shadow rules with this stat prefix matched a policy named by policyMatch; null: always. */
  readonly enabledBy: { readonly shadowStatPrefix: string; readonly prefix: string | null; readonly exact: string | null } | null;
}

/** ExtAuthz from a bootstrap or an xDS Any; undefined after reporting a problem. */
export function readExtAuthzConfig(v: ValueReader): ExtAuthzConfig | undefined {
  const obj = readTypedConfig(v, EXT_AUTHZ_TYPE_URL);
  if (obj === undefined) return undefined;
  let ok = true;
  let clusterName: string | undefined;
  let timeoutMs: number | undefined = 200;
  const grpc = obj.field('grpc_service');
  grpc.require();
  const g = grpc.missing ? undefined : grpc.object();
  if (g === undefined) ok = false;
  else {
    const envoyGrpc = g.field('envoy_grpc');
    envoyGrpc.require();
    const e = envoyGrpc.missing ? undefined : envoyGrpc.object();
    if (e !== undefined) {
      const name = e.field('cluster_name');
      name.require();
      clusterName = name.nonEmptyString();
      e.done();
    }
    const t = g.field('timeout');
    if (!t.missing) timeoutMs = t.duration();
    g.done();
    if (clusterName === undefined || timeoutMs === undefined) ok = false;
  }
  const failureModeAllow = obj.field('failure_mode_allow').bool() ?? false;
  const api = obj.field('transport_api_version');
  if (!api.missing) {
    const s = api.string();
    if (s !== 'V3' && s !== undefined) {
      api.problem(`is ${s}; only V3 is supported`);
      ok = false;
    }
  }
  let statusOnError: number | undefined = 403;
  const soe = obj.field('status_on_error');
  if (!soe.missing) {
    const o = soe.object();
    if (o === undefined) ok = false;
    else {
      const code = o.field('code');
      statusOnError = code.missing ? 403 : readStatusCode(code);
      o.done();
    }
  }
  const enabledBy = readEnabledMetadata(obj.field('filter_enabled_metadata'));
  if (enabledBy === undefined) ok = false;
  obj.done();
  if (!ok || clusterName === undefined || timeoutMs === undefined || statusOnError === undefined || enabledBy === undefined) return undefined;
  return Object.freeze({ clusterName, timeoutMs, failureModeAllow, statusOnError, enabledBy });
}

/** type.v3.StatusCode: a number or Envoy's enum name (Forbidden, ServiceUnavailable, ...). */
function readStatusCode(v: ValueReader): number | undefined {
  const named: Record<string, number> = { OK: 200, BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, TooManyRequests: 429, InternalServerError: 500, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504 };
  if (v.isScalarString()) {
    const s = v.string();
    if (s !== undefined && named[s] !== undefined) return named[s];
    if (s !== undefined && /^\d+$/.test(s)) return Number(s) >= 200 && Number(s) <= 599 ? Number(s) : (v.problem('must be an HTTP status 200-599'), undefined);
    v.problem(`names "${s}"; use a number or one of ${Object.keys(named).join(', ')}`);
    return undefined;
  }
  return v.integer(200, 599);
}

function readEnabledMetadata(v: ValueReader): ExtAuthzConfig['enabledBy'] | undefined {
  if (v.missing) return null;
  const o = v.object();
  if (o === undefined) return undefined;
  const filter = o.field('filter');
  const f = filter.string();
  const path = o.field('path').list();
  const value = o.field('value');
  let result: ExtAuthzConfig['enabledBy'] | undefined;
  const key = path.length === 1 ? path[0]!.object() : undefined;
  const keyName = key?.field('key').string();
  key?.done();
  const vo = value.object();
  const sm = vo?.field('string_match').object();
  const prefix = sm?.has('prefix') ? sm.field('prefix').string() ?? null : null;
  const exact = sm?.has('exact') ? sm.field('exact').string() ?? null : null;
  if (f !== RBAC_METADATA_FILTER || keyName === undefined || !keyName.endsWith(SHADOW_KEY_SUFFIX) || sm === undefined || (prefix === null && exact === null)) {
    v.problem(`only the RBAC shadow-rules form is supported: filter ${RBAC_METADATA_FILTER}, path [{key: <shadow_rules_stat_prefix>${SHADOW_KEY_SUFFIX}}], value.string_match prefix or exact`);
    return undefined;
  }
  sm.done();
  vo?.done();
  o.done();
  result = Object.freeze({ shadowStatPrefix: keyName.slice(0, -SHADOW_KEY_SUFFIX.length), prefix, exact });
  return result;
}
