// CORS policy, in both of Envoy's spellings: extensions.filters.http.cors.v3.CorsPolicy
// (typed_per_filter_config['envoy.filters.http.cors']) and the deprecated
// route.v3.CorsPolicy (`cors` on a virtual host or route action). Same fields.

import type { CorsPolicy } from './bootstrap-types.js';
import { readRuntimeFraction } from './fraction.js';
import { checkFieldValue } from './head-text.js';
import { readStringMatch } from './string-match.js';
import { readTypedConfig } from './typed-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

export { CORS_FILTER_NAME } from './http-filter-names.js';
/** The cors filter's own (empty) config, in http_filters. */
export const CORS_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
/** The per-route policy, in typed_per_filter_config. */
export const CORS_POLICY_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';

/** A header value list ("GET,POST"); Envoy's empty string means "not set". */
function readHeaderList(v: ValueReader): string | null | undefined {
  const text = v.string();
  if (text === undefined) return v.missing ? null : undefined;
  if (!checkFieldValue(v, text, true)) return undefined; // written one byte per character
  return text === '' ? null : text;
}

/** The CorsPolicy fields of obj (whose @type, if any, the caller has read). */
function readCorsFields(obj: ObjectReader): CorsPolicy | undefined {
  const allowOriginStringMatch = obj.field('allow_origin_string_match').listOf(readStringMatch);
  const allowMethods = readHeaderList(obj.field('allow_methods'));
  const allowHeaders = readHeaderList(obj.field('allow_headers'));
  const exposeHeaders = readHeaderList(obj.field('expose_headers'));
  const maxAgeField = obj.field('max_age');
  let maxAge = readHeaderList(maxAgeField);
  if (typeof maxAge === 'string' && !/^\d+$/.test(maxAge)) {
    maxAgeField.problem(`must be a whole number of seconds, e.g. "86400" (got "${maxAge}")`);
    maxAge = undefined;
  }
  const credentialsField = obj.field('allow_credentials');
  const allowCredentials = credentialsField.bool();
  const pnaField = obj.field('allow_private_network_access');
  const allowPrivateNetworkAccess = pnaField.bool();
  const enabledField = obj.field('filter_enabled');
  // Envoy: without filter_enabled (and shadow_enabled) the policy is enforced for every request.
  const filterEnabled = enabledField.missing ? 1 : readRuntimeFraction(enabledField);
  // Envoy: evaluate the policy and count the result, but enforce nothing (default: no shadowing).
  const shadowField = obj.field('shadow_enabled');
  const shadowEnabled = shadowField.missing ? 0 : readRuntimeFraction(shadowField);
  // Envoy's default (true): a preflight whose origin does not match goes on to the upstream.
  const forwardField = obj.field('forward_not_matching_preflights');
  const forward = forwardField.bool();
  if (forward === false) forwardField.problem('is not supported as false (such preflights always go to the upstream)');
  obj.done();
  if (allowOriginStringMatch === undefined || allowMethods === undefined || allowHeaders === undefined || exposeHeaders === undefined || maxAge === undefined
    || (allowCredentials === undefined && !credentialsField.missing) || (allowPrivateNetworkAccess === undefined && !pnaField.missing)
    || filterEnabled === undefined || shadowEnabled === undefined || (forward !== true && !forwardField.missing)) return undefined;
  return {
    allowOriginStringMatch,
    allowMethods,
    allowHeaders,
    exposeHeaders,
    maxAge,
    allowCredentials: allowCredentials ?? null,
    allowPrivateNetworkAccess: allowPrivateNetworkAccess ?? false,
    filterEnabled,
    ...(shadowEnabled > 0 ? { shadowEnabled } : {}),
  };
}

/** A typed_per_filter_config entry carrying a CorsPolicy. */
export function readTypedCorsPolicy(v: ValueReader): CorsPolicy | undefined {
  const obj = readTypedConfig(v, CORS_POLICY_TYPE_URL);
  return obj === undefined ? undefined : readCorsFields(obj);
}

/** The deprecated `cors` field (route.v3.CorsPolicy, no @type). */
export function readCorsPolicy(v: ValueReader): CorsPolicy | undefined {
  const obj = v.object();
  return obj === undefined ? undefined : readCorsFields(obj);
}
