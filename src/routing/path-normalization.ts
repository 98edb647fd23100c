// The HTTP connection manager's path transformations, as Envoy applies them
// before routing (ConnectionManagerUtility::maybeNormalizePath), in order:
//  1. path_with_escaped_slashes_action: %2F/%2f -> '/', %5C/%5c -> '\'
//     (or reject, or unescape and redirect);
//  2. normalize_path: RFC 3986 dot-segment removal and decoding of percent-
//     encoded unreserved characters, exactly as Envoy's snapshot of
//     Chromium's path canonicalizer does it (url_canon_path.cc): `%2e` counts
//     as a dot, `\` as a slash, characters a URL may not hold are
//     percent-encoded, `%00` fails the request;
//  3. merge_slashes: runs of '/' become one.
// The result replaces the path for routing and upstream, as in Envoy. A path
// that needs none of this (no '%', '\', "/.", "//" and nothing to escape) is
// found in one scan and returned as is.
import type { PathNormalization } from '../config/bootstrap-types.js';

/** Route the (possibly rewritten) path. */
export const PATH_FORWARD = 0;
/** 400: a `%00`, or escaped slashes under REJECT_REQUEST. */
export const PATH_REJECT = 1;
/** 307 to the rewritten path: escaped slashes under UNESCAPE_AND_REDIRECT. */
export const PATH_REDIRECT = 2;
export type PathVerdict = typeof PATH_FORWARD | typeof PATH_REJECT | typeof PATH_REDIRECT;

// Chromium's kPathCharLookup, restricted to what it does with each byte.
const PASS = 0;
const SPECIAL = 1; // '.', '%', '\': handled one by one
const ESCAPE = 2; // written percent-encoded
const UNESCAPE = 4; // unreserved: decoded when written percent-encoded
const INVALID = 8; // NUL: fails normalization

const PATH_CHAR = new Uint8Array(256).fill(ESCAPE);
for (let c = 0x21; c < 0x7f; c++) PATH_CHAR[c] = PASS;
for (const c of '"#<>?^`{|}') PATH_CHAR[c.charCodeAt(0)] = ESCAPE;
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9\-_~]/.test(ch)) PATH_CHAR[c] = UNESCAPE;
}
PATH_CHAR[0x2e] = SPECIAL | UNESCAPE; // '.'
PATH_CHAR[0x25] = SPECIAL; // '%'
PATH_CHAR[0x5c] = SPECIAL; // '\'
PATH_CHAR[0] = INVALID;

/** Bytes that send a path to the slow path under normalize_path: '%', '\' and what a path may not hold. */
const NEEDS_CANONICAL = new Uint8Array(256);
for (let c = 0; c < 256; c++) NEEDS_CANONICAL[c] = (PATH_CHAR[c]! & (SPECIAL | ESCAPE | INVALID)) !== 0 ? 1 : 0;
NEEDS_CANONICAL[0x2e] = 0; // a dot matters only after a slash (checked apart)

const HEX = '0123456789ABCDEF';

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** The byte `%XY` at path[i] encodes, or -1 when it is not a valid escape. */
function decodeEscaped(path: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const hi = hexValue(path.charCodeAt(i + 1));
  const lo = hexValue(path.charCodeAt(i + 2));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/** Length of the dot at path[i]: 1 for '.', 3 for `%2e`/`%2E`, 0 for none. */
function dotLength(path: string, i: number, end: number): number {
  const c = path.charCodeAt(i);
  if (c === 0x2e) return 1;
  if (c === 0x25 && i + 2 < end && path.charCodeAt(i + 1) === 0x32 && (path.charCodeAt(i + 2) | 0x20) === 0x65) return 3;
  return 0;
}

function isSlash(c: number): boolean {
  return c === 0x2f || c === 0x5c;
}

/** Whether `path` may change under `config` (one scan, no allocation); false means it is already normal. */
export function pathMayChange(path: string, config: PathNormalization): boolean {
  const normalize = config.normalizePath;
  const merge = config.mergeSlashes;
  const percent = normalize || config.escapedSlashes !== 'KEEP_UNCHANGED';
  if (!percent && !merge) return false;
  let afterSlash = false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x2f) {
      if (afterSlash && merge) return true;
      afterSlash = true;
      continue;
    }
    if (c === 0x25) {
      if (percent) return true;
    } else if (normalize && (c > 0xff || NEEDS_CANONICAL[c] === 1 || (afterSlash && c === 0x2e))) {
      return true;
    }
    afterSlash = false;
  }
  return false;
}

/** %2F/%2f -> '/', %5C/%5c -> '\' (Envoy's PathUtil::unescapeSlashes); the same string when there are none. */
export function unescapeSlashes(path: string): string {
  if (!/%(2f|5c)/i.test(path)) return path;
  return path.replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
}

/** Runs of '/' become one (Envoy's merge_slashes). */
export function mergeSlashes(path: string): string {
  return path.includes('//') ? path.replace(/\/{2,}/g, '/') : path;
}

// canonicalPath writes bytes here (each input character becomes at most three), so its cost stays linear in the
// path however hostile: no string rebuilt per step. One per thread; grows to 3x the longest path seen (a path is
// bounded by the head size limit).
let scratch = Buffer.allocUnsafe(1024);

/** out[0, n) ends with '/': drops the last segment before it, never above the first slash; returns the new length. */
function backUpToPreviousSlash(out: Buffer, n: number): number {
  let i = n - 1;
  if (i === 0) return n;
  i--;
  while (i > 0 && out[i] !== 0x2f) i--;
  return i + 1;
}

/**
 * An escape decoded just after a lone '%' (at `invalid` in `out`) could form a new valid escape, e.g. `%%30%30`
 * -> `%00`: that '%' is written `%25` instead, so decoding the result again cannot change it (Chromium's
 * CheckForNestedEscapes). Returns the new length.
 */
function guardNestedEscape(path: string, next: number, end: number, invalid: number, out: Buffer, n: number): number {
  let second: number;
  if (invalid === n - 2) {
    if (next === end) return n;
    second = path.charCodeAt(next); // "%X" so far: the next input character would complete it
  } else {
    second = out[invalid + 2]!;
  }
  if (hexValue(out[invalid + 1]!) < 0 || hexValue(second) < 0) return n;
  out.copyWithin(invalid + 3, invalid + 1, n);
  out[invalid + 1] = 0x32; // '2'
  out[invalid + 2] = 0x35; // '5'
  return n + 2;
}

/** RFC 3986 normalization of a path (no query) as Envoy's normalize_path does it; null when it fails (400). */
export function canonicalPath(path: string): string | null {
  const end = path.length;
  if (scratch.length < end * 3 + 4) scratch = Buffer.allocUnsafe(end * 3 + 4);
  const out = scratch;
  let n = 0;
  if (!isSlash(path.charCodeAt(0))) out[n++] = 0x2f;
  let invalidPercent = -10;
  let ok = true;
  for (let i = 0; i < end; i++) {
    const c = path.charCodeAt(i);
    if (c > 0xff) return null; // not a byte: cannot come from the wire
    const flags = PATH_CHAR[c]!;
    if ((flags & (SPECIAL | ESCAPE | INVALID)) === 0) {
      out[n++] = c;
      continue;
    }
    const dot = dotLength(path, i, end);
    if (dot > 0) {
      if (out[n - 1] !== 0x2f) {
        out[n++] = 0x2e; // part of a segment name
        i += dot - 1;
        continue;
      }
      const after = i + dot;
      if (after === end || isSlash(path.charCodeAt(after))) {
        i = after === end ? after - 1 : after; // "." segment: skip it and the slash after it
        continue;
      }
      const second = dotLength(path, after, end);
      const afterSecond = after + second;
      if (second > 0 && (afterSecond === end || isSlash(path.charCodeAt(afterSecond)))) {
        n = backUpToPreviousSlash(out, n); // ".." segment: drop the one before, skip the slash after it
        i = afterSecond === end ? afterSecond - 1 : afterSecond;
        continue;
      }
      out[n++] = 0x2e;
      i += dot - 1;
    } else if (c === 0x5c) {
      out[n++] = 0x2f;
    } else if (c === 0x25) {
      const byte = decodeEscaped(path, i, end);
      if (byte < 0) {
        invalidPercent = n;
        out[n++] = 0x25;
      } else if ((PATH_CHAR[byte]! & UNESCAPE) !== 0) {
        out[n++] = byte;
        i += 2;
        if (invalidPercent >= n - 3) n = guardNestedEscape(path, i + 1, end, invalidPercent, out, n);
      } else {
        out[n++] = 0x25; // kept as written (hex case too)
        out[n++] = path.charCodeAt(i + 1);
        out[n++] = path.charCodeAt(i + 2);
        i += 2;
        if ((PATH_CHAR[byte]! & INVALID) !== 0) ok = false;
      }
    } else if ((flags & INVALID) !== 0) {
      ok = false;
    } else {
      out[n++] = 0x25;
      out[n++] = HEX.charCodeAt(c >> 4);
      out[n++] = HEX.charCodeAt(c & 15);
    }
  }
  return ok ? out.latin1Slice(0, n) : null;
}

/**
 * Applies `config` to `path` (no query). Returns the verdict; the path to route and send upstream (or to redirect
 * to) is in `result.path`.
 */
export function normalizeRequestPath(path: string, config: PathNormalization, result: { path: string }): PathVerdict {
  result.path = path;
  if (!pathMayChange(path, config)) return PATH_FORWARD;
  let p = path;
  let verdict: PathVerdict = PATH_FORWARD;
  if (config.escapedSlashes !== 'KEEP_UNCHANGED') {
    const unescaped = unescapeSlashes(p);
    if (unescaped !== p) {
      if (config.escapedSlashes === 'REJECT_REQUEST') return PATH_REJECT;
      if (config.escapedSlashes === 'UNESCAPE_AND_REDIRECT') verdict = PATH_REDIRECT;
      p = unescaped;
    }
  }
  if (config.normalizePath) {
    const canonical = canonicalPath(p);
    if (canonical === null) return PATH_REJECT;
    p = canonical;
  }
  if (config.mergeSlashes) p = mergeSlashes(p);
  result.path = p;
  return verdict;
}
