// Istio's meshConfig.pathNormalization as HTTP connection manager fields
// (pilot's listener builder): DEFAULT and BASE normalize the path (RFC 3986),
// MERGE_SLASHES also merges slashes, DECODE_AND_MERGE_SLASHES also unescapes
// %2F and %5C; NONE turns normalization off. Escaped slashes are otherwise
// kept, as Istio sets explicitly.

export const PATH_NORMALIZATION_TYPES = ['DEFAULT', 'NONE', 'BASE', 'MERGE_SLASHES', 'DECODE_AND_MERGE_SLASHES'] as const;
/** meshConfig.pathNormalization.normalization */
export type PathNormalizationType = (typeof PATH_NORMALIZATION_TYPES)[number];

export function isPathNormalizationType(s: string): s is PathNormalizationType {
  return (PATH_NORMALIZATION_TYPES as readonly string[]).includes(s);
}

/** Istio's default (DEFAULT, which is BASE). */
export const DEFAULT_PATH_NORMALIZATION: PathNormalizationType = 'DEFAULT';

/** The HCM fields for `type`, to spread into the HttpConnectionManager. */
export function hcmPathNormalization(type: PathNormalizationType): Record<string, unknown> {
  switch (type) {
    case 'NONE':
      return { normalize_path: { value: false }, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case 'BASE':
    case 'DEFAULT':
      return { normalize_path: { value: true }, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case 'MERGE_SLASHES':
      return { normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' };
    case 'DECODE_AND_MERGE_SLASHES':
      return { normalize_path: { value: true }, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' };
  }
}
