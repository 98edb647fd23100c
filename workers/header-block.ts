// Copies the header lines a proxy forwards straight from the received bytes
// into the outgoing head, without turning each header into strings. The
// native parser has lowercased names and tagged the headers a proxy treats
// specially; everything else is copied as it arrived (name through value).
import { HEAD, HEADER_ID } from '../src/native.js';

/** Hop-by-hop headers (RFC 9110 7.6.1) plus the framing headers the proxy regenerates. */
export const HOP_BY_HOP_MASK =
  (1 << HEADER_ID.CONNECTION) |
  (1 << HEADER_ID.KEEP_ALIVE) |
  (1 << HEADER_ID.PROXY_CONNECTION) |
  (1 << HEADER_ID.TE) |
  (1 << HEADER_ID.TRAILER) |
  (1 << HEADER_ID.UPGRADE) |
  (1 << HEADER_ID.TRANSFER_ENCODING) |
  (1 << HEADER_ID.CONTENT_LENGTH);

let keep = new Uint8Array(128);

export function headerName(buf: Buffer, out: Uint32Array, i: number): string {
  const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
  return buf.latin1Slice(out[base + HEAD.NAME_START]!, out[base + HEAD.NAME_END]!);
}

export function headerValue(buf: Buffer, out: Uint32Array, i: number): string {
  const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
  return buf.latin1Slice(out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!);
}

/** Every header as name, value, name, value, ... (names lowercased by the parser); for matchers that walk them all. */
export function headerList(buf: Buffer, out: Uint32Array): string[] {
  const list: string[] = [];
  const count = out[HEAD.HEADER_COUNT]!;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    list.push(
      buf.latin1Slice(out[base + HEAD.NAME_START]!, out[base + HEAD.NAME_END]!),
      buf.latin1Slice(out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!),
    );
  }
  return list;
}

/** The value of the first header with this id, or '' when absent; several are joined with ', '. */
export function headerValueById(buf: Buffer, out: Uint32Array, id: number): string {
  let value = '';
  const count = out[HEAD.HEADER_COUNT]!;
  for (let i = 0; i < count; i++) {
    if (out[HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i + HEAD.HEADER_ID] === id) {
      value = value === '' ? headerValue(buf, out, i) : value + ', ' + headerValue(buf, out, i);
    }
  }
  return value;
}

/** Some header with this id has a non-empty value (headerValueById(...) !== '', without building the string). */
export function hasValueById(out: Uint32Array, id: number): boolean {
  const count = out[HEAD.HEADER_COUNT]!;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    if (out[base + HEAD.HEADER_ID] === id && out[base + HEAD.VALUE_END]! > out[base + HEAD.VALUE_START]!) return true;
  }
  return false;
}

/** True when the name of the header at slot `base` equals `name` (lowercase ASCII; the parser lowercased names), compared in place. */
export function headerNameIs(buf: Buffer, out: Uint32Array, base: number, name: string): boolean {
  const s = out[base + HEAD.NAME_START]!;
  const len = name.length;
  if (out[base + HEAD.NAME_END]! - s !== len) return false;
  for (let k = 0; k < len; k++) if (buf[s + k] !== name.charCodeAt(k)) return false;
  return true;
}

/** First value of an untagged header by lowercase name, or undefined (linear; for rare lookups). */
export function findHeader(buf: Buffer, out: Uint32Array, name: string): string | undefined {
  const count = out[HEAD.HEADER_COUNT]!;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    if (headerNameIs(buf, out, base, name)) return buf.latin1Slice(out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!);
  }
  return undefined;
}

/** Header names that a Connection header nominates as hop-by-hop (only called when the parser flagged CONNECTION_OTHER). */
export function connectionNominated(buf: Buffer, out: Uint32Array): string[] {
  const names: string[] = [];
  for (const token of headerValueById(buf, out, HEADER_ID.CONNECTION).split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') names.push(t);
  }
  return names;
}

/** Whether the header name at buf[start, end) is in `remove` (lowercase names); compared in place, no string per header. */
function removed(buf: Buffer, start: number, end: number, remove: readonly string[]): boolean {
  const length = end - start;
  for (let j = 0; j < remove.length; j++) {
    const name = remove[j]!;
    if (name.length !== length) continue;
    let k = 0;
    for (; k < length; k++) {
      let c = buf[start + k]!;
      if (c >= 65 && c <= 90) c += 32; // ASCII A-Z: header names are tokens
      if (c !== name.charCodeAt(k)) break;
    }
    if (k === length) return true;
  }
  return false;
}

/**
 * Decides which received header lines to forward: not in `skipMask` (by id),
 * not named in `remove` nor `drop`. Returns the bytes the kept lines need (with CRLF);
 * copyPlannedHeaders then writes exactly those lines.
 */
export function planHeaders(buf: Buffer, out: Uint32Array, skipMask: number, remove: readonly string[] | null, drop: string | null = null): number {
  const count = out[HEAD.HEADER_COUNT]!;
  if (keep.length < count) keep = new Uint8Array(count * 2);
  const kept = keep; // a local: the module binding is a context load with a hole check at each use in the loop
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    let k = ((1 << out[base + HEAD.HEADER_ID]!) & skipMask) === 0;
    if (k && remove !== null && remove.length > 0) k = !removed(buf, out[base + HEAD.NAME_START]!, out[base + HEAD.NAME_END]!, remove);
    // `drop` is compared in place (no string per header): XFCC goes on every request the HCM sanitizes.
    if (k && drop !== null && headerNameIs(buf, out, base, drop)) k = false;
    kept[i] = k ? 1 : 0;
    if (k) bytes += out[base + HEAD.VALUE_END]! - out[base + HEAD.NAME_START]! + 2;
  }
  return bytes;
}

/**
 * Writes the lines chosen by the last planHeaders into dest at pos; returns the new position. Kept lines that
 * follow each other in buf (CRLF between them) go as one run: Buffer#copy from an offset makes a Uint8Array
 * view per call, and a short run is copied byte by byte instead (no garbage per request for the young GC).
 */
export function copyPlannedHeaders(buf: Buffer, out: Uint32Array, dest: Buffer, pos: number): number {
  const count = out[HEAD.HEADER_COUNT]!;
  const kept = keep;
  let i = 0;
  while (i < count) {
    if (kept[i] === 0) {
      i++;
      continue;
    }
    const start = out[HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i + HEAD.NAME_START]!;
    let end = out[HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i + HEAD.VALUE_END]!;
    i++;
    while (i < count && kept[i] === 1) {
      const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
      if (out[base + HEAD.NAME_START] !== end + 2 || buf[end] !== 13 || buf[end + 1] !== 10) break;
      end = out[base + HEAD.VALUE_END]!;
      i++;
    }
    pos = copyRange(buf, start, end, dest, pos);
    dest[pos++] = 13;
    dest[pos++] = 10;
  }
  return pos;
}

/** Runs up to this long are copied in a loop rather than by Buffer#copy (which allocates a view). */
const LOOP_COPY_MAX = 256;

/** Copies src[start, end) to dest at pos (dest has room); returns the position after it. */
export function copyRange(src: Uint8Array, start: number, end: number, dest: Uint8Array, pos: number): number {
  const n = end - start;
  if (n > LOOP_COPY_MAX) {
    dest.set(src.subarray(start, end), pos);
    return pos + n;
  }
  for (let k = 0; k < n; k++) dest[pos + k] = src[start + k]!;
  return pos + n;
}
