// The HTTP connection manager's path fields: normalize_path, merge_slashes
// and path_with_escaped_slashes_action (see src/routing/path-normalization.ts
// for what each does to a request).
import type { EscapedSlashesAction, PathNormalization } from './bootstrap-types.js';
import type { ObjectReader } from './yaml-reader.js';

const ESCAPED_SLASHES_ACTIONS = [
  'IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD',
] as const;

/** Envoy's defaults: no normalization, no merging, escaped slashes kept. */
export const NO_PATH_NORMALIZATION: PathNormalization = Object.freeze({
  normalizePath: false, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED',
});

/** Reads the three fields from an HttpConnectionManager; undefined when one is invalid (reported by path). */
export function readPathNormalization(hcm: ObjectReader): PathNormalization | undefined {
  const normalizeField = hcm.field('normalize_path');
  const normalizePath = normalizeField.bool();
  const mergeField = hcm.field('merge_slashes');
  const mergeSlashes = mergeField.bool();
  const actionField = hcm.field('path_with_escaped_slashes_action');
  const action = actionField.enumOf(ESCAPED_SLASHES_ACTIONS);
  if ((normalizePath === undefined && !normalizeField.missing) || (mergeSlashes === undefined && !mergeField.missing)
    || (action === undefined && !actionField.missing)) return undefined;
  const escapedSlashes: EscapedSlashesAction = action === undefined || action === 'IMPLEMENTATION_SPECIFIC_DEFAULT' ? 'KEEP_UNCHANGED' : action;
  if (normalizePath !== true && mergeSlashes !== true && escapedSlashes === 'KEEP_UNCHANGED') return NO_PATH_NORMALIZATION;
  return { normalizePath: normalizePath ?? false, mergeSlashes: mergeSlashes ?? false, escapedSlashes };
}
