// http_connection_manager scheme_header_transformation: what the request's :scheme is from the proxy on
// (its upstream HTTP/2 :scheme, %REQ(:SCHEME)%). Envoy keeps the downstream's by default.
import type { SchemeTransformation } from './bootstrap-types.js';
import type { ObjectReader } from './yaml-reader.js';

export const DEFAULT_SCHEME_TRANSFORMATION: SchemeTransformation = Object.freeze({ overwrite: '', matchUpstream: false });

/** Reads scheme_header_transformation from the HCM object; undefined after a problem. */
export function readSchemeTransformation(hcm: ObjectReader): SchemeTransformation | undefined {
  const field = hcm.field('scheme_header_transformation');
  if (field.missing) return DEFAULT_SCHEME_TRANSFORMATION;
  const obj = field.object();
  if (obj === undefined) return undefined;
  const overwriteField = obj.field('scheme_to_overwrite');
  const overwrite = overwriteField.missing ? '' : overwriteField.string();
  const matchUpstream = obj.field('match_upstream').bool() ?? false;
  obj.done();
  if (overwrite === undefined) return undefined;
  if (overwrite !== '' && overwrite !== 'http' && overwrite !== 'https') {
    overwriteField.problem(`must be "http" or "https" (got "${overwrite}")`);
    return undefined;
  }
  if (overwrite !== '' && matchUpstream) {
    field.problem('sets both scheme_to_overwrite and match_upstream (one of them)');
    return undefined;
  }
  return Object.freeze({ overwrite, matchUpstream });
}
