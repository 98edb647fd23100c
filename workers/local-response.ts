// Which local reply an upstream failure that could not be retried becomes
// (ActiveRequest.replyFailure sends it).
import { LocalReply, type LocalReplyKind } from './local-reply.js';
import { UpstreamFailure } from './upstream-connection.js';

/** The local reply for an upstream failure (UpstreamFailure) that could not be retried. */
export function localReplyForFailure(failure: number): LocalReplyKind {
  return failure === UpstreamFailure.CONNECT
    ? LocalReply.CONNECT_FAILURE
    : failure === UpstreamFailure.RESET
      ? LocalReply.UPSTREAM_RESET
      : failure === UpstreamFailure.OVERFLOW ? LocalReply.UPSTREAM_OVERFLOW : LocalReply.UPSTREAM_PROTOCOL_ERROR;
}
