// http_connection_manager.http_filters: the mixer (policy), fault, cors, local_ratelimit, rbac and compressor filters, in any
// order (kept: it is the order of each route's chain), then the router, which
// must be last. Each filter at most once, except rbac (Istio chains a DENY and an ALLOW one).

import type { FaultConfig, HttpFilters, LocalRateLimitConfig } from './bootstrap-types.js';
import { CORS_FILTER_NAME, CORS_TYPE_URL } from './cors-policy.js';
import { FAULT_FILTER_NAME, readFaultConfig } from './fault-config.js';
import { LOCAL_RATE_LIMIT_FILTER_NAME, readLocalRateLimit } from './local-rate-limit-config.js';
import { COMPRESSOR_FILTER_NAME, isCompressorTypedConfig, readCompressor, type CompressorConfig } from './compressor-config.js';
import { RBAC_FILTER_NAME, readRbacConfig, type RbacConfig } from './rbac-config.js';
import { MIXER_FILTER_NAME, readMixerFilterConfig, type MixerFilterConfig } from './mixer-filter-config.js';
import { EXT_AUTHZ_FILTER_NAME, readExtAuthzConfig, type ExtAuthzConfig } from './ext-authz-config.js';
import { isEmptyAny, readEmptyTypedConfig } from './typed-config.js';
import { ValueReader } from './yaml-reader.js';

export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';
export const ROUTER_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const SUPPORTED = [FAULT_FILTER_NAME, CORS_FILTER_NAME, LOCAL_RATE_LIMIT_FILTER_NAME, RBAC_FILTER_NAME, COMPRESSOR_FILTER_NAME, MIXER_FILTER_NAME, EXT_AUTHZ_FILTER_NAME, ROUTER_FILTER_NAME];
/** The RBAC filter without typed_config (or with no rules): present, allows everything. */
const EMPTY_RBAC: RbacConfig = Object.freeze({ rules: null, shadowRules: null, rulesStatPrefix: '', shadowRulesStatPrefix: '' });
/** The fault filter with an empty HTTPFault: present, injects nothing unless a route configures it. */
const EMPTY_FAULT: FaultConfig = Object.freeze({ delay: null, abort: null, headers: Object.freeze([]), maxActiveFaults: null });

/** The local rate limit filter with an empty config: present, limits nothing unless a route configures it. */
const DISABLED_LOCAL_RATE_LIMIT: LocalRateLimitConfig = Object.freeze({
  statPrefix: 'http_local_rate_limiter', tokenBucket: null, enabled: 0, enforced: 0, responseHeadersToAdd: Object.freeze([]), requestHeadersToAddWhenNotEnforced: Object.freeze([]), status: 429, xRateLimitHeaders: false,
  descriptors: Object.freeze([]), alwaysConsumeDefault: true, runtimeKeys: Object.freeze([]),
});

/** HttpConnectionManager.http_filters; undefined after reporting a problem. */
export function readHttpFilters(v: ValueReader): HttpFilters | undefined {
  const items = v.list();
  let fault: FaultConfig | null = null;
  let cors = false;
  let localRateLimit: LocalRateLimitConfig | null = null;
  const rbac: RbacConfig[] = [];
  const compressors: CompressorConfig[] = [];
  let mixer: MixerFilterConfig | undefined;
  let extAuthz: ExtAuthzConfig | undefined;
  const order: string[] = [];
  let ok = true;
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      return;
    }
    const nameField = obj.field('name');
    nameField.require();
    const name = nameField.string();
    const typedField = obj.field('typed_config');
    // `typed_config: {}` reads as no typed_config (the filter's defaults), as in Envoy.
    const typed = isEmptyAny(typedField) ? new ValueReader(typedField.ctx, null, typedField.path) : typedField;
    // A compressor is known by its typed_config (a chain may run one per encoding, each under its own name).
    const compressor = name !== undefined && (name === COMPRESSOR_FILTER_NAME || isCompressorTypedConfig(typed));
    if (name === undefined) {
      ok = false;
    } else if (compressor && !seen.has(name)) {
      typed.require();
      const value = typed.missing ? undefined : readCompressor(typed, name);
      if (value === undefined) ok = false;
      else if (compressors.some((c) => c.encoding === value.encoding)) {
        typed.problem(`compresses with ${value.encoding} like an earlier compressor; each encoding may have one compressor`);
        ok = false;
      } else compressors.push(value);
    } else if (!SUPPORTED.includes(name)) {
      nameField.problem(`names "${name}"; the supported HTTP filters are ${SUPPORTED.join(', ')}`);
      ok = false;
    } else if (seen.has(name) && name !== RBAC_FILTER_NAME) {
      nameField.problem(`repeats ${name}; each HTTP filter may appear once`);
      ok = false;
    } else if (name === ROUTER_FILTER_NAME && i !== items.length - 1) {
      nameField.problem(`${ROUTER_FILTER_NAME} must be the last HTTP filter`);
      ok = false;
    } else if (name === FAULT_FILTER_NAME) {
      // Without typed_config Envoy uses the filter's empty config.
      const value = typed.missing ? EMPTY_FAULT : readFaultConfig(typed);
      if (value === undefined) ok = false;
      else fault = value;
    } else if (name === CORS_FILTER_NAME) {
      if (!typed.missing && !readEmptyTypedConfig(typed, CORS_TYPE_URL)) ok = false;
      cors = true;
    } else if (name === LOCAL_RATE_LIMIT_FILTER_NAME) {
      // Without typed_config (or with filter_enabled unset) the filter is present but off, as in Envoy.
      const value = typed.missing ? DISABLED_LOCAL_RATE_LIMIT : readLocalRateLimit(typed);
      if (value === undefined) ok = false;
      else localRateLimit = value;
    } else if (name === RBAC_FILTER_NAME) {
      const value = typed.missing ? EMPTY_RBAC : readRbacConfig(typed);
      if (value === undefined) ok = false;
      else rbac.push(value);
    } else if (name === MIXER_FILTER_NAME) {
      // The policy filter needs its HttpClientConfig (which attributes to compute, how to fail).
      typed.require();
      const value = typed.missing ? undefined : readMixerFilterConfig(typed);
      if (value === undefined) ok = false;
      else mixer = value;
    } else if (name === EXT_AUTHZ_FILTER_NAME) {
      // ext_authz needs its grpc_service (which server to ask).
      typed.require();
      const value = typed.missing ? undefined : readExtAuthzConfig(typed);
      if (value === undefined) ok = false;
      else extAuthz = value;
    } else if (!typed.missing && !readEmptyTypedConfig(typed, ROUTER_TYPE_URL)) {
      ok = false; // Router options: none supported
    }
    if (name !== undefined) {
      // RBAC may repeat (Istio's DENY filter, then its ALLOW filter): one entry per occurrence.
      if (name !== ROUTER_FILTER_NAME && (!seen.has(name) || name === RBAC_FILTER_NAME)) order.push(name);
      seen.add(name);
    }
    obj.done();
  });
  if (items.length > 0 && ok && !seen.has(ROUTER_FILTER_NAME)) {
    v.problem(`must end with ${ROUTER_FILTER_NAME}`);
    ok = false;
  }
  return ok ? { fault, cors, localRateLimit, ...(rbac.length > 0 ? { rbac: Object.freeze(rbac) } : {}), compressors: Object.freeze(compressors), ...(mixer === undefined ? {} : { mixer }), ...(extAuthz === undefined ? {} : { extAuthz }), order: Object.freeze(order) } : undefined;
}
