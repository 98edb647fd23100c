// extensions.filters.http.local_ratelimit.v3.LocalRateLimit: a token bucket
// per proxy (shared by every worker), the share of requests it applies to
// (filter_enabled) and enforces (filter_enforced), the reply it sends when
// empty, and the x-ratelimit-* headers. As the listener's filter config or a
// route's / virtual host's typed_per_filter_config (own bucket per config).

import type { HeaderValueOption } from './bootstrap-types.js';
import { readRuntimeFraction } from './fraction.js';
import { readHeaderValueOptions } from './header-mutation.js';
import { readTypedConfig } from './typed-config.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

export { LOCAL_RATE_LIMIT_FILTER_NAME } from './http-filter-names.js';
export const LOCAL_RATE_LIMIT_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
/** type.v3.StatusCode names (the ones a rate limit answers with). */
const STATUS_NAMES: Record<string, number> = {
  OK: 200, BadRequest: 400, Unauthorized: 401, PaymentRequired: 402, Forbidden: 403, NotFound: 404, Conflict: 409,
  TooManyRequests: 429, InternalServerError: 500, NotImplemented: 501, BadGateway: 502, ServiceUnavailable: 503, GatewayTimeout: 504,
};
/** Envoy refuses a shorter fill_interval for this filter. */
const MIN_FILL_INTERVAL_MS = 50;

/** type.v3.TokenBucket */
export interface TokenBucketConfig {
  readonly maxTokens: number;
  /** Default 1. */
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

export interface LocalRateLimitConfig {
  readonly statPrefix: string;
  /** null: no bucket, the filter lets everything through (as Envoy does without token_bucket). */
  readonly tokenBucket: TokenBucketConfig | null;
  /** filter_enabled default_value as a probability; Envoy's default is 0 (off, for safety). */
  readonly enabled: number;
  /** filter_enforced default_value; default 0 (shadow mode: counted, not enforced). */
  readonly enforced: number;
  /** Added to the 429 (or `status`) this filter sends. */
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  /** Added to a request that was rate limited but not enforced (shadow mode), on its way upstream. */
  readonly requestHeadersToAddWhenNotEnforced: readonly HeaderValueOption[];
  /** status.code, default 429. */
  readonly status: number;
  /** enable_x_ratelimit_headers: DRAFT_VERSION_03. */
  readonly xRateLimitHeaders: boolean;
  /** The runtime_key names given in filter_enabled / filter_enforced: ignored (no runtime layer), the agent warns. */
  readonly runtimeKeys: readonly string[];
  /** descriptors: buckets for requests whose route rate_limits actions produce these entries. */
  readonly descriptors: readonly LocalRateLimitDescriptor[];
  /** always_consume_default_token_bucket; default true (the default bucket is taken from even when a descriptor matched). */
  readonly alwaysConsumeDefault: boolean;
}

/** common.ratelimit.v3.LocalRateLimitDescriptor */
export interface LocalRateLimitDescriptor {
  /** key/value pairs, in order; an empty value matches any value of its key. */
  readonly entries: readonly { readonly key: string; readonly value: string }[];
  readonly tokenBucket: TokenBucketConfig;
}

function readDescriptor(v: ValueReader): LocalRateLimitDescriptor | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const entriesField = obj.field('entries');
  entriesField.require();
  const entries = entriesField.listOf((item) => {
    const e = item.object();
    if (e === undefined) return undefined;
    const keyField = e.field('key');
    keyField.require();
    const key = keyField.nonEmptyString();
    const value = e.field('value').string() ?? '';
    e.done();
    return key === undefined ? undefined : { key, value };
  });
  const bucketField = obj.field('token_bucket');
  bucketField.require();
  const tokenBucket = bucketField.missing ? undefined : readTokenBucket(bucketField);
  obj.done();
  if (entries !== undefined && entries.length === 0) entriesField.problem('needs at least one entry');
  if (entries === undefined || entries.length === 0 || tokenBucket === undefined) return undefined;
  return { entries: Object.freeze(entries), tokenBucket };
}

function readTokenBucket(v: ValueReader): TokenBucketConfig | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const maxField = obj.field('max_tokens');
  maxField.require();
  const maxTokens = maxField.integer(1, 0x7fffffff);
  const perFillField = obj.field('tokens_per_fill');
  const perFill = perFillField.missing ? 1 : readUInt32Value(perFillField);
  const intervalField = obj.field('fill_interval');
  intervalField.require();
  const fillIntervalMs = intervalField.duration();
  obj.done();
  if (fillIntervalMs !== undefined && fillIntervalMs < MIN_FILL_INTERVAL_MS) {
    intervalField.problem(`must be at least ${MIN_FILL_INTERVAL_MS}ms (Envoy's lower bound for the HTTP local rate limit)`);
    return undefined;
  }
  if (perFill !== undefined && perFill < 1) {
    perFillField.problem('must be at least 1');
    return undefined;
  }
  if (maxTokens === undefined || perFill === undefined || fillIntervalMs === undefined) return undefined;
  return { maxTokens, tokensPerFill: perFill, fillIntervalMs };
}

/** google.protobuf.UInt32Value: a bare number or `{ value }`. */
function readUInt32Value(v: ValueReader): number | undefined {
  if (!v.isMap()) return v.integer(0, UINT32_MAX);
  const obj = v.object()!;
  const value = obj.field('value').integer(0, UINT32_MAX) ?? 0;
  obj.done();
  return value;
}

/** A RuntimeFractionalPercent's runtime_key, or null (read here only to be named in the agent's warning). */
function runtimeKeyOf(v: ValueReader): string | null {
  if (!v.isMap()) return null;
  const node = v.node as { get?: (k: string) => unknown };
  const key = typeof node.get === 'function' ? node.get('runtime_key') : undefined;
  return typeof key === 'string' && key !== '' ? key : null;
}

/** The fields Envoy has that this proxy refuses rather than silently ignore. */
const UNSUPPORTED = [
  'stage', 'local_rate_limit_per_downstream_connection',
  'vh_rate_limits', 'rate_limited_as_resource_exhausted', 'local_cluster_rate_limit',
];

/** A LocalRateLimit typed_config (listener filter or per-route); undefined after reporting a problem. */
export function readLocalRateLimit(v: ValueReader): LocalRateLimitConfig | undefined {
  const obj = readTypedConfig(v, LOCAL_RATE_LIMIT_TYPE_URL);
  if (obj === undefined) return undefined;
  let ok = true;
  const prefixField = obj.field('stat_prefix');
  prefixField.require();
  const statPrefix = prefixField.nonEmptyString();
  const bucketField = obj.field('token_bucket');
  const tokenBucket = bucketField.missing ? null : readTokenBucket(bucketField);
  const runtimeKeys = ['filter_enabled', 'filter_enforced'].map((n) => runtimeKeyOf(obj.field(n))).filter((k): k is string => k !== null);
  const enabledField = obj.field('filter_enabled');
  const enabled = enabledField.missing ? 0 : readRuntimeFraction(enabledField);
  const enforcedField = obj.field('filter_enforced');
  const enforced = enforcedField.missing ? 0 : readRuntimeFraction(enforcedField);
  const responseHeadersToAdd = readHeaderValueOptions(obj.field('response_headers_to_add'));
  const requestHeadersToAddWhenNotEnforced = readHeaderValueOptions(obj.field('request_headers_to_add_when_not_enforced'));
  let status = 429;
  const statusField = obj.field('status');
  if (!statusField.missing) {
    const statusObj = statusField.object();
    const codeField = statusObj?.field('code');
    // type.v3.HttpStatus: a number, or the StatusCode enum's name (how a decoded xDS resource carries it).
    const named = codeField !== undefined && codeField.isScalarString() && Object.hasOwn(STATUS_NAMES, codeField.string()!) ? STATUS_NAMES[codeField.string()!] : undefined;
    const code = named ?? (codeField?.isScalarString() === true ? (codeField.problem('must be a status code 200-599 or a StatusCode name such as TooManyRequests'), undefined) : codeField?.integer(200, 599));
    statusObj?.done();
    if (code === undefined) ok = false;
    else status = code;
  }
  const descriptors = obj.field('descriptors').listOf(readDescriptor);
  const alwaysConsumeDefault = obj.field('always_consume_default_token_bucket').bool() ?? true;
  const xField = obj.field('enable_x_ratelimit_headers');
  const x = xField.missing ? 'OFF' : xField.enumOf(['OFF', 'DRAFT_VERSION_03'] as const);
  for (const name of UNSUPPORTED) {
    const f = obj.field(name);
    // local_rate_limit_per_downstream_connection: false is Envoy's default and what this proxy does.
    if (f.missing || (name === 'local_rate_limit_per_downstream_connection' && f.bool() === false)) continue;
    f.problem('is not supported by this proxy\'s local rate limit (one token bucket per proxy)');
    ok = false;
  }
  obj.done();
  if (!ok || statPrefix === undefined || tokenBucket === undefined || enabled === undefined || enforced === undefined
    || responseHeadersToAdd === undefined || x === undefined || descriptors === undefined) return undefined;
  return Object.freeze({
    statPrefix, tokenBucket, enabled, enforced, responseHeadersToAdd, requestHeadersToAddWhenNotEnforced, status, xRateLimitHeaders: x === 'DRAFT_VERSION_03',
    descriptors: Object.freeze(descriptors), alwaysConsumeDefault, runtimeKeys: Object.freeze(runtimeKeys),
  });
}
