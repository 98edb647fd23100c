// The responses the proxy makes itself: a local reply for a failure (the one
// place a failure becomes a status and a response flag), a direct_response,
// a redirect or a filter's answer. Each one ends the request.
import { LocalReply, type LocalReplyKind } from './local-reply.js';
import type { ActiveRequest } from './active-request.js';
import { encodeLocalResponse } from './message-heads.js';
import { ResponseFlag } from './response-flags.js';
import { UpstreamFailure } from './upstream-connection.js';

/** The one place a failure becomes a response: status, flag, body, counted and logged by complete(). */
export function sendLocalReply(req: ActiveRequest, kind: LocalReplyKind): void {
  req.flags |= kind.flag;
  if (req.retry !== null && req.retry.used > 0 && kind.status >= 500) req.flags |= ResponseFlag.URX;
  sendResponse(req, kind.status, kind.body, kind.body === '' ? '' : 'content-type: text/plain\r\n');
}

/** A response the proxy makes itself (local reply, direct_response, redirect, filter answer). */
export function sendResponse(req: ActiveRequest, status: number, body: string, extraHeaders: string): void {
  if (req.finished) return;
  req.responseCode = status;
  req.responseStarted = true;
  if (req.receivingBody) req.closeAfter = true; // the unread body would be taken for the next request
  req.bytesSent += Buffer.byteLength(body);
  const connection = req.closeAfter || req.conn.draining ? 'connection: close\r\n' : req.http11 ? '' : 'connection: keep-alive\r\n';
  if (req.filterRun !== null) extraHeaders += req.filterRun.responseHeaders(); // CORS, as Envoy's encoder filters add it to local replies
  req.conn.write(encodeLocalResponse(status, body, extraHeaders, req.plan.responseAdd, connection));
  req.complete();
}

/** The local reply for an upstream failure (UpstreamFailure) that could not be retried. */
export function localReplyForFailure(failure: number): LocalReplyKind {
  return failure === UpstreamFailure.CONNECT
    ? LocalReply.CONNECT_FAILURE
    : failure === UpstreamFailure.RESET
      ? LocalReply.UPSTREAM_RESET
      : failure === UpstreamFailure.OVERFLOW ? LocalReply.UPSTREAM_OVERFLOW : LocalReply.UPSTREAM_PROTOCOL_ERROR;
}
