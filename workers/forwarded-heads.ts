// What the heads the proxy passes on say, from the request's state: the
// request head for the upstream (rewrites, x-forwarded-for, body framing)
// and the response head for the client (framing, connection, set-cookie,
// CORS). message-heads.ts does the byte-level encoding of both.
import type { RouteAction } from '../src/config/bootstrap-types.js';
import { isFieldValueSafe, isRequestTargetSafe } from '../src/config/head-text.js';
import { FLAG, HEAD } from '../src/native.js';
import { rewritePath } from '../src/routing/route-table.js';
import type { ActiveRequest } from './active-request.js';
import { encodeResponseHead, encodeUpstreamHead, type UpstreamHeadFields } from './message-heads.js';
import { BODY_CHUNKED } from './request-body-reader.js';
import { BodyMode } from './upstream-connection.js';

/**
 * The request head for the upstream, from the received head in buf/out (route rewrites applied); null
 * when the target or a rewritten host would put a character into the head that does not belong there
 * (CR, LF, NUL, a space in the target). The readers refuse such config and the parser such requests;
 * this check is the second wall, for what a rewrite or a normalization composed from both.
 */
export function upstreamHeadFor(req: ActiveRequest, buf: Buffer, out: Uint32Array, flags: number, action: RouteAction, dropExpect: boolean): Buffer | null {
  let path = req.path;
  if (action.prefixRewrite !== null) path = rewritePath(req.route!.route, path, action.prefixRewrite);
  const pathAndQuery = req.query === '' ? path : path + '?' + req.query;
  if (!isRequestTargetSafe(pathAndQuery)) return null;
  if (action.hostRewriteLiteral !== null && !isFieldValueSafe(action.hostRewriteLiteral)) return null;
  const remote = req.conn.remoteAddress;
  const f = upstreamFields;
  f.method = req.method;
  f.pathAndQuery = pathAndQuery;
  f.host = action.hostRewriteLiteral ?? req.authority;
  f.forwardedFor = req.forwardedFor === '' ? remote : req.forwardedFor + ', ' + remote;
  f.requestId = req.requestId;
  f.framing =
    req.bodyMode === BODY_CHUNKED
      ? 'transfer-encoding: chunked\r\n'
      : (flags & FLAG.CONTENT_LENGTH) !== 0
        ? 'content-length: ' + req.bodyRemaining + '\r\n'
        : '';
  f.dropExpect = dropExpect;
  f.remove = req.plan.requestRemove;
  f.add = req.plan.requestAdd;
  return encodeUpstreamHead(buf, out, f);
}

/** One per worker, refilled for each request (encodeUpstreamHead reads it synchronously): no object per request. */
const upstreamFields: { -readonly [K in keyof UpstreamHeadFields]: UpstreamHeadFields[K] } = {
  method: '',
  pathAndQuery: '',
  host: '',
  forwardedFor: '',
  requestId: '',
  framing: '',
  dropExpect: false,
  remove: null,
  add: Buffer.alloc(0),
};

/**
 * The response head for the client, from the upstream's head (buf at start, parsed in `out`).
 * Decides the framing too: sets req.chunkedOut, and req.closeAfter when the connection must close after it.
 */
export function responseHeadFor(req: ActiveRequest, buf: Buffer, start: number, out: Uint32Array, status: number, bodyMode: number): Buffer {
  const flags = out[HEAD.FLAGS]!;
  let framing: string;
  if (status === 204) {
    // RFC 9110 8.6: never a Content-Length on a 204, whatever the upstream claimed (a client honouring it would
    // take the next response's bytes as this one's body).
    framing = '';
  } else if (bodyMode === BodyMode.LENGTH || (bodyMode === BodyMode.NONE && (flags & FLAG.CONTENT_LENGTH) !== 0)) {
    framing = 'content-length: ' + (out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!) + '\r\n';
  } else if (bodyMode === BodyMode.NONE) {
    framing = status === 304 ? '' : 'content-length: 0\r\n';
  } else if (req.http11) {
    framing = 'transfer-encoding: chunked\r\n';
    req.chunkedOut = true;
  } else {
    framing = ''; // HTTP/1.0 client: the body ends when the connection closes
    req.closeAfter = true;
  }
  if (req.receivingBody) req.closeAfter = true; // answered before the request body finished
  const close = req.closeAfter || req.conn.draining;
  if (close) framing += 'connection: close\r\n';
  else if (!req.http11) framing += 'connection: keep-alive\r\n';
  if (req.setCookie !== null) framing += req.setCookie;
  framing += '\r\n';
  const plan = req.plan;
  const run = req.filterRun;
  return run === null || run.corsOrigin === null
    ? encodeResponseHead(buf, start, out, plan.responseRemove, plan.responseAdd, framing)
    : encodeResponseHead(buf, start, out, run.filters.corsRemove(plan.responseRemove), plan.responseAdd, run.responseHeaders() + framing);
}
