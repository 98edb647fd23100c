// Encodes the heads the proxy sends: the request head to the upstream and
// the response head to the client, both copying the received header lines
// the proxy keeps byte for byte (header-block.ts), and the whole of a
// response the proxy makes itself.
import { Buffer } from 'node:buffer';
import { XFCC_HEADER } from './client-cert-header.js';
import { FLAG, HEAD, HEADER_ID } from '../src/native.js';
import { HOP_BY_HOP_MASK, connectionNominated, copyPlannedHeaders, hasValueById, planHeaders } from './header-block.js';
import { reasonPhrase } from './local-reply.js';

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
  /** Trace context lines for the upstream (tracing/request-trace.ts), '' = none. */
  readonly trace: string;
}

/** The request head for the upstream, from the received head in `out`. */
export function encodeUpstreamHead(buf: Buffer, out: Uint32Array, f: UpstreamHeadFields): Buffer {
  const skip = REQUEST_SKIP | (f.dropExpect ? 1 << HEADER_ID.EXPECT : 0);
  const headerBytes = planHeaders(buf, out, skip, removals(buf, out, f.remove), f.xfcc === null ? null : XFCC_HEADER);
  let start =
    f.method + ' ' + f.pathAndQuery + ' HTTP/1.1\r\nhost: ' + f.host +
    (f.forwardedFor === '' ? '' : '\r\nx-forwarded-for: ' + f.forwardedFor) + '\r\nx-request-id: ' + f.requestId + '\r\n' + f.envoyHeaders + f.trace;
  if (f.xfcc !== null && f.xfcc !== '') start += XFCC_HEADER + ': ' + f.xfcc + '\r\n';
  if (!hasValueById(out, HEADER_ID.X_FORWARDED_PROTO)) start += 'x-forwarded-proto: http\r\n';
  const tail = f.framing + '\r\n';
  const head = Buffer.allocUnsafe(start.length + headerBytes + f.add.length + tail.length);
  let pos = head.latin1Write(start, 0);
  pos = copyPlannedHeaders(buf, out, head, pos);
  pos += f.add.copy(head, pos);
  head.latin1Write(tail, pos);
  return head;
}

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
  let pos = head.latin1Write('HTTP/1.1 ', 0);
  pos += buf.copy(head, pos, start + 9, start + 9 + statusBytes);
  head[pos++] = 13;
  head[pos++] = 10;
  pos = copyPlannedHeaders(buf, out, head, pos);
  pos += add.copy(head, pos);
  head.latin1Write(framing, pos);
  return head;
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

/**
 * One write's worth of response body: a copy of buf[start, end) (the read
 * buffer is shared, see shared-read-buffer.ts), behind `head` when the
 * response head is still waiting, framed as a chunk when `chunked`.
 */
export function encodeBodyPiece(head: Buffer | null, chunked: boolean, buf: Buffer, start: number, end: number): Buffer {
  const n = end - start;
  const prefix = chunked ? n.toString(16) + '\r\n' : '';
  const headLength = head === null ? 0 : head.length;
  const piece = Buffer.allocUnsafe(headLength + prefix.length + n + (chunked ? 2 : 0));
  let pos = head === null ? 0 : head.copy(piece, 0);
  if (chunked) pos += piece.latin1Write(prefix, pos);
  pos += buf.copy(piece, pos, start, end);
  if (chunked) {
    piece[pos++] = 13;
    piece[pos] = 10;
  }
  return piece;
}
