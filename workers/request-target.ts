// The request target split into what routing needs: path, query and the
// authority (absolute-form, as HTTP_PROXY clients send it, wins over Host);
// the path then normalized as the listener's HTTP connection manager says
// (normalize_path, merge_slashes, path_with_escaped_slashes_action).
import type { PathNormalization } from '../src/config/bootstrap-types.js';
import { HEAD, NO_HOST_INDEX } from '../src/native.js';
import { normalizeRequestPath, PATH_FORWARD, type PathVerdict } from '../src/routing/path-normalization.js';
import { RepeatSlice } from './repeat-slice.js';

/** Host and path repeat on a mesh path: the last of each is reused when the bytes match (repeat-slice.ts). */
const hostSlice = new RepeatSlice(256, (s) => s.toLowerCase());
const pathSlice = new RepeatSlice(128);

export interface RequestTarget {
  path: string;
  query: string;
  authority: string;
}

/** Fills `into` from the head in headOut; false when the target is not origin- or absolute-form (400). */
export function parseRequestTarget(buf: Buffer, out: Uint32Array, into: RequestTarget): boolean {
  let ts = out[HEAD.TARGET_START]!;
  const te = out[HEAD.TARGET_END]!;
  if (buf[ts] !== 0x2f /* / */) {
    // absolute-form: scheme "://" authority [path]
    const m = /^https?:\/\/([^/?#]+)/i.exec(buf.latin1Slice(ts, te));
    if (m === null) {
      // authority-form (the parser allows it for CONNECT only): routed as "/" on that authority (upgrade-request.ts decides).
      const authority = buf.latin1Slice(ts, te);
      if (authority.includes('/') || !authority.includes(':')) return false;
      into.authority = authority.toLowerCase();
      into.path = '/';
      return true;
    }
    into.authority = m[1]!.toLowerCase();
    ts += m[0].length;
    if (ts === te || buf[ts] !== 0x2f) {
      into.path = '/';
      if (ts < te && buf[ts] === 0x3f) into.query = buf.latin1Slice(ts + 1, te);
      return true;
    }
  } else {
    const hostIndex = out[HEAD.HOST_INDEX]!;
    if (hostIndex !== NO_HOST_INDEX) {
      const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * hostIndex;
      into.authority = hostSlice.slice(buf, out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!);
    }
  }
  // Not buf.indexOf: it has no end bound and would scan the rest of the (256 KB) read buffer when there is no '?'.
  let q = ts;
  while (q < te && buf[q] !== 0x3f /* ? */) q++;
  if (q < te) {
    into.path = pathSlice.slice(buf, ts, q);
    into.query = buf.latin1Slice(q + 1, te);
  } else {
    into.path = pathSlice.slice(buf, ts, te);
  }
  return true;
}

/**
 * Applies the listener's path normalization (none when `config` is undefined) to `target.path`, rewriting it when
 * needed. PATH_FORWARD: route it; PATH_REDIRECT: answer 307 to the normalized path; otherwise answer 400.
 */
export function normalizeTargetPath(target: RequestTarget, config: PathNormalization | undefined): PathVerdict {
  if (config === undefined || (!config.normalizePath && !config.mergeSlashes && config.escapedSlashes === 'KEEP_UNCHANGED')) {
    return PATH_FORWARD;
  }
  return normalizeRequestPath(target.path, config, target);
}
