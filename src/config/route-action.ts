// The three things a route can do: forward (config.route.v3.RouteAction),
// redirect (RedirectAction) or answer itself (DirectResponseAction).

import { readUpgradeConfigs } from './upgrade-config.js';
import type { DirectResponseAction, RedirectAction, RouteAction, WeightedClusterEntry } from './bootstrap-types.js';
import { readHashPolicies } from './hash-policy.js';
import { readRateLimitPolicies } from './rate-limit-actions.js';
import { readUriText } from './head-text.js';
import { readMirrorPolicies } from './mirror-policy.js';
import { readRetryPolicy } from './retry-policy.js';
import { UINT32_MAX, type ObjectReader, type ValueReader } from './yaml-reader.js';

/** A cluster named by a route, kept with its place so a dangling name is reported at its line. */
export interface ClusterReference {
  readonly name: string;
  readonly at: ValueReader;
}

/** Envoy's default route timeout (15 s). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
export { DEFAULT_NUM_RETRIES, DEFAULT_RETRY_BASE_MS } from './retry-policy.js';

function readWeightedClusters(v: ValueReader, refs: ClusterReference[]): { clusters: WeightedClusterEntry[]; total: number } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const listField = obj.field('clusters');
  listField.require();
  const clusters: WeightedClusterEntry[] = [];
  let ok = true;
  const items = listField.list();
  if (!listField.missing && items.length === 0) listField.problem('must list at least one cluster');
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
    // Envoy allows 0 (canary tools write it for a version taking no traffic yet); only the sum must be above 0.
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
  const totalField = obj.field('total_weight');
  const total = totalField.integer(1, UINT32_MAX);
  if (ok && total !== undefined && total !== sum) totalField.problem(`is ${total} but the cluster weights add up to ${sum}`);
  obj.done();
  return ok && clusters.length > 0 ? { clusters, total: sum } : undefined;
}

/**
 * config.route.v3.RouteAction. `onObject` gets the action's reader before it is closed, so the route can
 * read the deprecated `cors` field that lives here but belongs with the route's filter config.
 */
export function readRouteAction(v: ValueReader, refs: ClusterReference[], onObject?: (obj: ObjectReader) => void): RouteAction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
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
    const weighted = readWeightedClusters(obj.field('weighted_clusters'), refs);
    if (weighted !== undefined) {
      clusters = weighted.clusters;
      totalWeight = weighted.total;
    }
  }
  const timeoutMs = obj.field('timeout').duration() ?? DEFAULT_ROUTE_TIMEOUT_MS;
  let grpcTimeoutHeaderMaxMs: number | null = null;
  const durationField = obj.field('max_stream_duration');
  const streamDuration = durationField.object();
  if (streamDuration !== undefined) {
    grpcTimeoutHeaderMaxMs = streamDuration.field('grpc_timeout_header_max').duration() ?? null;
    const max = streamDuration.field('max_stream_duration');
    if (!max.missing) max.problem('is not supported (grpc_timeout_header_max is)');
    const offset = streamDuration.field('grpc_timeout_header_offset');
    if (!offset.missing) offset.problem('is not supported (grpc_timeout_header_max is)');
    streamDuration.done();
  }
  const retryField = obj.field('retry_policy');
  const retryPolicy = retryField.missing ? null : readRetryPolicy(retryField);
  const prefixRewrite = readUriText(obj.field('prefix_rewrite'), false) ?? null;
  const hostRewriteLiteral = readUriText(obj.field('host_rewrite_literal'), true) ?? null;
  const hashPolicy = readHashPolicies(obj.field('hash_policy'));
  const requestMirrorPolicies = readMirrorPolicies(obj.field('request_mirror_policies'), refs);
  const upgrades = readUpgradeConfigs(obj.field('upgrade_configs'), true);
  const rateLimits = readRateLimitPolicies(obj.field('rate_limits'));
  onObject?.(obj);
  obj.done();
  if (clusters === undefined || retryPolicy === undefined || hashPolicy === undefined || requestMirrorPolicies === undefined
    || upgrades === undefined || rateLimits === undefined) return undefined;
  return {
    type: 'route',
    clusters,
    totalWeight,
    timeoutMs,
    ...(grpcTimeoutHeaderMaxMs !== null ? { grpcTimeoutHeaderMaxMs } : {}),
    retryPolicy,
    prefixRewrite,
    hostRewriteLiteral,
    hashPolicy,
    requestMirrorPolicies,
    upgrades,
    rateLimits,
  };
}

const REDIRECT_CODES = {
  MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308,
} as const;
type RedirectCodeName = keyof typeof REDIRECT_CODES;

/** config.route.v3.RedirectAction */
export function readRedirectAction(v: ValueReader): RedirectAction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const schemeWhich = obj.oneOf(['scheme_redirect', 'https_redirect'], false);
  let schemeRedirect: string | null = null;
  if (schemeWhich === 'scheme_redirect') {
    const f = obj.field('scheme_redirect');
    const scheme = f.nonEmptyString();
    if (scheme !== undefined && !/^[a-z][a-z0-9+.-]*$/i.test(scheme)) f.problem(`is not a valid URL scheme: "${scheme}"`);
    else if (scheme !== undefined) schemeRedirect = scheme.toLowerCase();
  } else if (schemeWhich === 'https_redirect') {
    if (obj.field('https_redirect').bool() === true) schemeRedirect = 'https';
  }
  const hostRedirect = readUriText(obj.field('host_redirect'), true) ?? null;
  const port = obj.field('port_redirect').integer(0, 65535);
  const pathWhich = obj.oneOf(['path_redirect', 'prefix_rewrite'], false);
  const pathRedirect = pathWhich === 'path_redirect' ? readUriText(obj.field('path_redirect'), true) ?? null : null;
  const prefixRewrite = pathWhich === 'prefix_rewrite' ? readUriText(obj.field('prefix_rewrite'), false) ?? null : null;
  const codeName = obj.field('response_code').enumOf(Object.keys(REDIRECT_CODES) as RedirectCodeName[]);
  const stripQuery = obj.field('strip_query').bool() ?? false;
  obj.done();
  return {
    type: 'redirect',
    schemeRedirect,
    hostRedirect,
    portRedirect: port === undefined || port === 0 ? null : port,
    pathRedirect,
    prefixRewrite,
    responseCode: REDIRECT_CODES[codeName ?? 'MOVED_PERMANENTLY'],
    stripQuery,
  };
}

/** config.route.v3.DirectResponseAction; Envoy allows status 200..599. */
export function readDirectResponse(v: ValueReader): DirectResponseAction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const statusField = obj.field('status');
  statusField.require();
  const status = statusField.integer(200, 599);
  let body: string | null = null;
  const bodyObj = obj.field('body').object();
  if (bodyObj !== undefined) {
    const inline = bodyObj.field('inline_string');
    inline.require();
    body = inline.string() ?? null;
    bodyObj.done();
  }
  obj.done();
  if (status === undefined) return undefined;
  return { type: 'direct_response', status, body };
}
