// What the request head the proxy passes upstream says, from the request's
// state: rewrites, x-forwarded-for, body framing. message-heads.ts does the
// byte-level encoding.
import type { RouteAction } from '../src/config/bootstrap-types.js';
import { isFieldValueSafe, isRequestTargetSafe } from '../src/config/head-text.js';
import { FLAG, HEAD } from '../src/native.js';
import { rewritePath } from '../src/routing/route-table.js';
import type { ActiveRequest } from './active-request.js';
import { encodeUpstreamHead, type UpstreamHeadFields } from './message-heads.js';

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
    (flags & FLAG.CHUNKED) !== 0
      ? 'transfer-encoding: chunked\r\n'
      : (flags & FLAG.CONTENT_LENGTH) !== 0
        ? 'content-length: ' + (out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!) + '\r\n'
        : '';
  f.dropExpect = dropExpect;
  f.remove = req.plan.requestRemove;
  f.add = req.plan.requestAdd;
  f.xfcc = req.xfcc;
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
  xfcc: '',
};
