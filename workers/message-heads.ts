// Encodes the heads the proxy sends: the request head to the upstream and
// the response head to the client, both copying the received header lines
// the proxy keeps byte for byte (header-block.ts), and the whole of a
// response the proxy makes itself.
import { Buffer } from 'node:buffer';
import { XFCC_HEADER } from './client-cert-header.js';
import { FLAG, HEAD, HEADER_ID } from '../src/native.js';
import { HOP_BY_HOP_MASK, connectionNominated, copyPlannedHeaders, copyRange, hasValueById, planHeaders } from './header-block.js';
import { reasonPhrase } from './local-reply.js';
import { upstreamTraceLinesLength, writeUpstreamTraceLines, type UpstreamTraceContext } from './tracing/upstream-trace-lines.js';

/** Received request headers the proxy replaces or drops on the way upstream. */
const REQUEST_SKIP =
  HOP_BY_HOP_MASK | (1 << HEADER_ID.HOST) | (1 << HEADER_ID.X_FORWARDED_FOR) | (1 << HEADER_ID.X_REQUEST_ID);

/** Received header names to drop: the route's list plus any the Connection header names. */
function removals(buf: Buffer, out: Uint32Array, route: readonly string[] | null): readonly string[] | null {
  if ((out[HEAD.FLAGS]! & FLAG.CONNECTION_OTHER) === 0) return route;
  return [...(route ?? []), ...connectionNominated(buf, out)];
}

export interface UpstreamHeadFields {
  readonly method: string;
  /** Path and query as they go upstream (rewrites applied). */
  readonly pathAndQuery: string;
  readonly host: string;
  /** x-forwarded-for to send ('' = none). */
  readonly forwardedFor: string;
  /** x-envoy-internal / x-envoy-external-address lines ('' = none). */
  readonly envoyHeaders: string;
  readonly requestId: string;
  /** 'transfer-encoding: chunked\r\n', 'content-length: N\r\n' or ''. */
  readonly framing: string;
  readonly dropExpect: boolean;
  readonly remove: readonly string[] | null;
  readonly add: Buffer;
  /** x-forwarded-client-cert: null = forwarded as received, '' = removed, other = removed and this value sent. */
  readonly xfcc: string | null;
  /** The trace context the upstream gets (tracing/upstream-trace-lines.ts writes its lines), null = none. */
  readonly trace: UpstreamTraceContext | null;
}

/**
 * The head's fixed pieces as bytes: a byte loop from an array costs about two thirds of a charCodeAt loop over
 * a string, and these go into every upstream head (callgrind, bench/h1-callgrind.ts).
 */
const XFP_HTTP = Buffer.from('x-forwarded-proto: http\r\n', 'latin1');
const VERSION_HOST = Buffer.from(' HTTP/1.1\r\nhost: ', 'latin1');
const XFF_LINE = Buffer.from('\r\nx-forwarded-for: ', 'latin1');
const REQUEST_ID_LINE = Buffer.from('\r\nx-request-id: ', 'latin1');

/**
 * The request head for the upstream, from the received head in `out`: its pieces are written into the head
 * one after another (no string joined per request to be collected by the young GC).
 */
export function encodeUpstreamHead(buf: Buffer, out: Uint32Array, f: UpstreamHeadFields): Buffer {
  const skip = REQUEST_SKIP | (f.dropExpect ? 1 << HEADER_ID.EXPECT : 0);
  const headerBytes = planHeaders(buf, out, skip, removals(buf, out, f.remove), f.xfcc === null ? null : XFCC_HEADER);
  const xff = f.forwardedFor !== '';
  const xfcc = f.xfcc !== null && f.xfcc !== '';
  const xfp = !hasValueById(out, HEADER_ID.X_FORWARDED_PROTO);
  const length =
    f.method.length + 1 + f.pathAndQuery.length + 17 + f.host.length + (xff ? 19 + f.forwardedFor.length : 0) +
    16 + f.requestId.length + 2 + f.envoyHeaders.length + (f.trace === null ? 0 : upstreamTraceLinesLength(f.trace)) + (xfcc ? XFCC_HEADER.length + 4 + f.xfcc!.length : 0) +
    (xfp ? XFP_HTTP.length : 0) + headerBytes + f.add.length + f.framing.length + 2;
  const head = Buffer.allocUnsafe(length);
  let pos = writeLatin1(head, 0, f.method);
  head[pos++] = 32;
  pos = writeLatin1(head, pos, f.pathAndQuery);
  pos = copyRange(VERSION_HOST, 0, VERSION_HOST.length, head, pos);
  pos = writeLatin1(head, pos, f.host);
  if (xff) {
    pos = copyRange(XFF_LINE, 0, XFF_LINE.length, head, pos);
    pos = writeLatin1(head, pos, f.forwardedFor);
  }
  pos = copyRange(REQUEST_ID_LINE, 0, REQUEST_ID_LINE.length, head, pos);
  pos = writeLatin1(head, pos, f.requestId);
  head[pos++] = 13;
  head[pos++] = 10;
  pos = writeLatin1(head, pos, f.envoyHeaders);
  if (f.trace !== null) pos = writeUpstreamTraceLines(head, pos, f.trace);
  if (xfcc) {
    pos = writeLatin1(head, pos, XFCC_HEADER);
    head[pos++] = 58;
    head[pos++] = 32;
    pos = writeLatin1(head, pos, f.xfcc!);
    head[pos++] = 13;
    head[pos++] = 10;
  }
  if (xfp) pos = copyRange(XFP_HTTP, 0, XFP_HTTP.length, head, pos);
  pos = copyPlannedHeaders(buf, out, head, pos);
  if (f.add.length > 0) pos = copyRange(f.add, 0, f.add.length, head, pos);
  pos = writeLatin1(head, pos, f.framing);
  head[pos++] = 13;
  head[pos] = 10;
  return head;
}

/** Strings up to this long are written in a loop rather than by latin1Write (a call into C++ each). */
const LOOP_WRITE_MAX = 64;

/** Writes s as latin1 (each UTF-16 unit's low byte, as latin1Write does) into dest at pos; returns the position after it. */
function writeLatin1(dest: Buffer, pos: number, s: string): number {
  const n = s.length;
  if (n > LOOP_WRITE_MAX) return pos + dest.latin1Write(s, pos);
  for (let k = 0; k < n; k++) dest[pos + k] = s.charCodeAt(k);
  return pos + n;
}

const HTTP_11 = Buffer.from('HTTP/1.1 ', 'latin1');

/**
 * The client's response head from the upstream's head at buf[start..] (in
 * `out`): our version, the upstream's status and reason ("HTTP/1.x " is 9
 * bytes), its end-to-end headers, the route's additions, then `framing`
 * (the framing and connection headers, ending in the blank line).
 */
export function encodeResponseHead(
  buf: Buffer,
  start: number,
  out: Uint32Array,
  remove: readonly string[] | null,
  add: Buffer,
  framing: string,
): Buffer {
  const headerBytes = planHeaders(buf, out, HOP_BY_HOP_MASK, removals(buf, out, remove));
  const statusBytes = Math.max(out[HEAD.TARGET_END]! - (start + 9), 3);
  const head = Buffer.allocUnsafe(9 + statusBytes + 2 + headerBytes + add.length + framing.length);
  let pos = copyRange(HTTP_11, 0, 9, head, 0);
  pos = copyRange(buf, start + 9, start + 9 + statusBytes, head, pos);
  head[pos++] = 13;
  head[pos++] = 10;
  pos = copyPlannedHeaders(buf, out, head, pos);
  if (add.length > 0) pos = copyRange(add, 0, add.length, head, pos);
  // The usual framing is endOfHead's repeated string, a cons string (slow per charCodeAt): its bytes instead, made
  // once it repeats (answers whose length changes each time would otherwise make a Buffer each).
  if (framing !== lastEnd || lastEndBytes === null) {
    writeLatin1(head, pos, framing);
    if (framing === lastEnd && ++lastEndUses >= 2) lastEndBytes = Buffer.from(lastEnd, 'latin1');
  } else {
    copyRange(lastEndBytes, 0, lastEndBytes.length, head, pos);
  }
  return head;
}

/** The last content-length line made, and the last head ending: a service answering the same size each time gets the same strings. */
let lastLength = -1;
let lastLengthLine = '';
let lastEndIn = '';
let lastEnd = '\r\n';
/** lastEnd's bytes (latin1) once it was written twice, and how many times it was. */
let lastEndBytes: Buffer | null = null;
let lastEndUses = 0;

/** 'content-length: N\r\n' (the last one again when N repeats: no string per response). */
export function contentLengthLine(n: number): string {
  if (n !== lastLength) {
    lastLength = n;
    lastLengthLine = 'content-length: ' + n + '\r\n';
  }
  return lastLengthLine;
}

/** `lines` then the blank line that ends a head (the last one again when the lines repeat). */
export function endOfHead(lines: string): string {
  if (lines !== lastEndIn) {
    lastEndIn = lines;
    lastEnd = lines + '\r\n';
    lastEndBytes = null;
    lastEndUses = 0;
  }
  return lastEnd;
}

/** A whole response the proxy makes (local reply, direct_response, redirect). `connection` is '' or a full header line. */
export function encodeLocalResponse(status: number, body: string, extraHeaders: string, add: Buffer, connection: string): Buffer {
  const bodyBytes = Buffer.byteLength(body);
  const head =
    'HTTP/1.1 ' + status + ' ' + reasonPhrase(status) + '\r\ncontent-length: ' + bodyBytes + '\r\n' + extraHeaders + connection;
  const b = Buffer.allocUnsafe(head.length + add.length + 2 + bodyBytes);
  let pos = b.latin1Write(head, 0);
  pos += add.copy(b, pos);
  b[pos++] = 13;
  b[pos++] = 10;
  if (bodyBytes > 0) b.utf8Write(body, pos);
  return b;
}

/** '0'-'9', 'a'-'f' as bytes. */
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * One write's worth of response body: a copy of buf[start, end) (the read
 * buffer is shared, see shared-read-buffer.ts), behind `head` when the
 * response head is still waiting, framed as a chunk when `chunked`.
 */
export function encodeBodyPiece(head: Buffer | null, chunked: boolean, buf: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  // The chunk-size line is written digit by digit (lowercase hex, as n.toString(16)): no string per piece.
  let digits = 1;
  if (chunked) for (let v = n; v >= 16; v = Math.floor(v / 16)) digits++;
  const headLength = head === null ? 0 : head.length;
  const piece = Buffer.allocUnsafe(headLength + (chunked ? digits + 4 : 0) + n);
  let pos = head === null ? 0 : head.copy(piece, 0);
  if (chunked) {
    for (let v = n, k = pos + digits - 1; k >= pos; k--, v = Math.floor(v / 16)) piece[k] = HEX_DIGITS[v % 16]!;
    pos += digits;
    piece[pos++] = 13;
    piece[pos++] = 10;
  }
  pos = copyRange(buf, start, end, piece, pos);
  if (chunked) {
    piece[pos++] = 13;
    piece[pos] = 10;
  }
  return piece;
}
