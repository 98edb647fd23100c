// What the request head the proxy passes upstream says, from the request's
// state: rewrites, x-forwarded-for, body framing. message-heads.ts does the
// byte-level encoding.
import { Buffer } from 'node:buffer';
import type { RouteAction } from '../src/config/bootstrap-types.js';
import { isFieldValueSafe, isRequestTargetSafe } from '../src/config/head-text.js';
import { FLAG, HEAD } from '../src/native.js';
import { rewritePath } from '../src/routing/route-table.js';
import type { ActiveRequest } from './active-request.js';
import { encodeUpstreamHead, type UpstreamHeadFields } from './message-heads.js';
import { DEFAULT_FORWARDING } from '../src/config/forwarding-defaults.js';
import { forwardedFor } from './forwarded-for.js';
import { TRACE_HEADER_NAMES } from './tracing/trace-headers.js';
import { TRACE_INCOMING } from './tracing/upstream-trace-lines.js';

/** Received headers only this proxy may set: x-envoy-internal always, x-envoy-external-address when it sets one. */
const STRIP_INTERNAL: readonly string[] = ['x-envoy-internal'];
const STRIP_BOTH: readonly string[] = ['x-envoy-internal', 'x-envoy-external-address'];
/** The same with tracing on and trace headers received: they are replaced by this hop's context (req.trace). */
const STRIP_INTERNAL_TRACED: readonly string[] = [...STRIP_INTERNAL, ...TRACE_HEADER_NAMES];
const STRIP_BOTH_TRACED: readonly string[] = [...STRIP_BOTH, ...TRACE_HEADER_NAMES];

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
  // Envoy's XFF rules: appended only with use_remote_address; the trusted client address decides internal/external.
  const fwd = forwardedFor(req.forwardedFor, remote, req.hcm?.forwarding ?? DEFAULT_FORWARDING);
  f.forwardedFor = fwd.xff;
  f.envoyHeaders = fwd.internal
    ? 'x-envoy-internal: true\r\n'
    : fwd.externalAddress === '' ? '' : 'x-envoy-external-address: ' + fwd.externalAddress + '\r\n';
  f.requestId = req.requestId;
  f.framing =
    (flags & FLAG.CHUNKED) !== 0
      ? 'transfer-encoding: chunked\r\n'
      : (flags & FLAG.CONTENT_LENGTH) !== 0
        ? 'content-length: ' + (out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!) + '\r\n'
        : '';
  f.dropExpect = dropExpect;
  f.trace = req.trace;
  // No trace header received (the usual first hop): no trace names to look for in the head.
  const strip = f.trace === null || (f.trace.bits & TRACE_INCOMING) === 0
    ? fwd.externalAddress === '' ? STRIP_INTERNAL : STRIP_BOTH
    : fwd.externalAddress === '' ? STRIP_INTERNAL_TRACED : STRIP_BOTH_TRACED;
  const remove = req.filterRequestRemove ?? req.plan.requestRemove;
  f.remove = remove === null ? strip : [...remove, ...strip];
  // Lines a filter added (rare): joined to the route's, after them.
  f.add = req.filterRequestAdd === '' ? req.plan.requestAdd : Buffer.concat([req.plan.requestAdd, Buffer.from(req.filterRequestAdd, 'latin1')]);
  f.xfcc = req.xfcc;
  return encodeUpstreamHead(buf, out, f);
}

/** One per worker, refilled for each request (encodeUpstreamHead reads it synchronously): no object per request. */
const upstreamFields: { -readonly [K in keyof UpstreamHeadFields]: UpstreamHeadFields[K] } = {
  method: '',
  pathAndQuery: '',
  host: '',
  forwardedFor: '',
  envoyHeaders: '',
  requestId: '',
  framing: '',
  dropExpect: false,
  remove: null,
  add: Buffer.alloc(0),
  xfcc: '',
  trace: null,
};
