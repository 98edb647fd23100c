// typed_per_filter_config on a virtual host or route, for the HTTP filters
// this proxy runs (fault, cors, local_ratelimit), plus the deprecated `cors` field. The most
// specific level wins at request time (route over virtual host over the
// listener's filter config); a route's or virtual host's config only takes
// effect when the listener's chain has that filter, as in Envoy.

import type { CorsPolicy, PerFilterConfig } from './bootstrap-types.js';
import { CORS_FILTER_NAME, readCorsPolicy, readTypedCorsPolicy } from './cors-policy.js';
import { FAULT_FILTER_NAME, readFaultConfig } from './fault-config.js';
import { LOCAL_RATE_LIMIT_FILTER_NAME, readLocalRateLimit } from './local-rate-limit-config.js';
import { RBAC_FILTER_NAME, readRbacPerRoute, type RbacConfig } from './rbac-config.js';
import { isCompressorPerRoute, readCompressorPerRoute } from './compressor-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

/**
 * Reads `typed_per_filter_config` from obj and the deprecated `cors` field the caller found (a virtual
 * host's own, a route action's; null when there is none). Both ways of giving a CORS policy at once is a problem.
 */
export function readPerFilterConfig(obj: ObjectReader, legacy: ValueReader | null): PerFilterConfig | undefined {
  let fault: PerFilterConfig['fault'] = null;
  let cors: CorsPolicy | null = null;
  let localRateLimit: PerFilterConfig['localRateLimit'] = null;
  const compressorsOff: string[] = [];
  let rbac: RbacConfig | null | undefined;
  let ok = true;
  const typedField = obj.field('typed_per_filter_config');
  const typed = typedField.object();
  if (typed !== undefined) {
    const faultField = typed.field(FAULT_FILTER_NAME);
    if (!faultField.missing) {
      const value = readFaultConfig(faultField);
      if (value === undefined) ok = false;
      else fault = value;
    }
    const corsTyped = typed.field(CORS_FILTER_NAME);
    if (!corsTyped.missing) {
      const value = readTypedCorsPolicy(corsTyped);
      if (value === undefined) ok = false;
      else cors = value;
    }
    const rateTyped = typed.field(LOCAL_RATE_LIMIT_FILTER_NAME);
    if (!rateTyped.missing) {
      const value = readLocalRateLimit(rateTyped);
      if (value === undefined) ok = false;
      else localRateLimit = value;
    }
    const rbacTyped = typed.field(RBAC_FILTER_NAME);
    if (!rbacTyped.missing) {
      rbac = readRbacPerRoute(rbacTyped);
      if (rbac === undefined) ok = false;
    }
    for (const name of typed.keys()) {
      if (name === FAULT_FILTER_NAME || name === CORS_FILTER_NAME || name === LOCAL_RATE_LIMIT_FILTER_NAME || name === RBAC_FILTER_NAME) continue;
      // A compressor's per-route config, under whatever name its http_filters entry has.
      const field = typed.field(name);
      if (isCompressorPerRoute(field)) {
        const disabled = readCompressorPerRoute(field);
        if (disabled === undefined) ok = false;
        else if (disabled) compressorsOff.push(name);
        continue;
      }
      typed.field(name).problem(`is not supported (of the HTTP filters, this proxy runs only ${FAULT_FILTER_NAME}, ${CORS_FILTER_NAME}, ${LOCAL_RATE_LIMIT_FILTER_NAME} and ${RBAC_FILTER_NAME} with per-route config)`);
      ok = false;
    }
    typed.done();
  } else if (!typedField.missing) ok = false;
  if (legacy !== null && !legacy.missing) {
    if (typed?.has(CORS_FILTER_NAME) === true) {
      legacy.problem(`and typed_per_filter_config['${CORS_FILTER_NAME}'] both set a CORS policy; keep one (cors is deprecated)`);
      ok = false;
    } else {
      const value = readCorsPolicy(legacy);
      if (value === undefined) ok = false;
      else cors = value;
    }
  }
  return ok ? { fault, cors, localRateLimit, ...(rbac !== undefined ? { rbac } : {}), ...(compressorsOff.length > 0 ? { disabledCompressors: Object.freeze(compressorsOff) } : {}) } : undefined;
}
