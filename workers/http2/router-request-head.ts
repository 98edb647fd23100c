// The HTTP/1.1 request head the router writes to an upstream attempt, read for an HTTP/2 upstream stream (node:http2
// or native): method, target, authority, the fields HTTP/2 may carry, and how the body is framed. Both streams read
// it here: the native stream only its shape (readRouterHeadShape: C++ reads the fields from the bytes), the
// node:http2 one also its fields as strings (readRouterHead) for a header object.
import { FLAG, HEAD, headSlots, parseRequestHead } from '../../src/native.js';
import { parseLimits } from '../parse-scratch.js';

/** Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2), and Host (it becomes :authority). */
const DROPPED: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'expect', 'http2-settings']);
let requestScratch = new Uint32Array(headSlots(parseLimits.maxHeaders));

/** The last head readRouterHead read (one per process, read at once by the caller: nothing is allocated for it). */
export const routerHead = {
  method: '',
  target: '',
  /** The Host value, null when the head has none. */
  authority: null as string | null,
  /** Fields to forward: name (lowercase) at 2i, value at 2i + 1, for i < fieldCount / 2. */
  fields: [] as string[],
  fieldCount: 0,
  /** content-type application/grpc*: the upstream is told `te: trailers`. */
  grpc: false,
};

/** takes the router's request head bytes; fills routerHeadShape and routerHead; returns the head's length (<= 0: not a head). */
export function readRouterHead(buf: Buffer): number {
  const n = readRouterHeadShape(buf);
  if (n <= 0) return n;
  const out = requestScratch;
  const h = routerHead;
  h.method = buf.latin1Slice(out[HEAD.METHOD_START]!, out[HEAD.METHOD_END]!);
  h.target = buf.latin1Slice(out[HEAD.TARGET_START]!, out[HEAD.TARGET_END]!);
  h.authority = null;
  h.grpc = false;
  const fields = h.fields;
  const count = out[HEAD.HEADER_COUNT]!;
  let k = 0;
  for (let i = 0; i < count; i++) {
    const base = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
    // The parser lowercased the names in place.
    const name = buf.latin1Slice(out[base + HEAD.NAME_START]!, out[base + HEAD.NAME_END]!);
    const value = buf.latin1Slice(out[base + HEAD.VALUE_START]!, out[base + HEAD.VALUE_END]!);
    if (name === 'host') h.authority = value;
    if (DROPPED.has(name)) continue;
    if (name === 'content-type' && value.startsWith('application/grpc')) h.grpc = true;
    fields[k++] = name;
    fields[k++] = value;
  }
  // Drop the previous head's strings past this one's fields.
  fields.length = k;
  h.fieldCount = k;
  return n;
}

/** What readRouterHeadShape read of the last head: the body's framing and whether the method is HEAD. */
export const routerHeadShape = {
  chunked: false,
  /** No body: no chunked framing and no or a zero Content-Length (HEADERS carries END_STREAM). */
  bodyless: false,
  headMethod: false,
};

/**
 * takes the router's request head bytes; checks them with the native parser (which lowercases the names in place,
 * as h2cRequestHead expects) and fills routerHeadShape, making no string; returns the head's length (<= 0: not a head).
 */
export function readRouterHeadShape(buf: Buffer): number {
  if (requestScratch.length < headSlots(parseLimits.maxHeaders)) requestScratch = new Uint32Array(headSlots(parseLimits.maxHeaders));
  const out = requestScratch;
  const n = parseRequestHead(buf, 0, buf.length, out, parseLimits.maxHeadBytes * 2, parseLimits.maxHeaders);
  if (n <= 0) return n;
  const flags = out[HEAD.FLAGS]!;
  const s = routerHeadShape;
  s.chunked = (flags & FLAG.CHUNKED) !== 0;
  s.bodyless = !s.chunked && ((flags & FLAG.CONTENT_LENGTH) === 0 || (out[HEAD.CONTENT_LENGTH_HI]! | out[HEAD.CONTENT_LENGTH_LO]!) === 0);
  const m = out[HEAD.METHOD_START]!;
  s.headMethod = out[HEAD.METHOD_END]! - m === 4 && buf[m] === 72 && buf[m + 1] === 69 && buf[m + 2] === 65 && buf[m + 3] === 68; // HEAD
  return n;
}
