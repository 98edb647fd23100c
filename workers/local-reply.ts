// Every failure the proxy answers itself, in one table: the status, the
// response flag and the body an Envoy user would recognise.
import { REASON_PHRASES } from './reason-phrases.js';
import { ResponseFlag } from './response-flags.js';

export interface LocalReplyKind {
  readonly status: number;
  readonly flag: number;
  readonly body: string;
}

export const LocalReply = {
  NO_ROUTE: { status: 404, flag: ResponseFlag.NR, body: '' },
  BAD_REQUEST: { status: 400, flag: ResponseFlag.DPE, body: 'Bad Request' },
  HEADERS_TOO_LARGE: { status: 431, flag: ResponseFlag.DPE, body: 'Request Header Fields Too Large' },
  NO_HEALTHY_UPSTREAM: { status: 503, flag: ResponseFlag.UH, body: 'no healthy upstream' },
  CLUSTER_NOT_FOUND: { status: 503, flag: ResponseFlag.NR, body: 'cluster not found' },
  CONNECT_FAILURE: {
    status: 503,
    flag: ResponseFlag.UF,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
  },
  UPSTREAM_RESET: {
    status: 502,
    flag: ResponseFlag.UC,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: connection termination',
  },
  UPSTREAM_PROTOCOL_ERROR: { status: 502, flag: ResponseFlag.UPE, body: 'upstream sent an invalid HTTP response' },
  UPSTREAM_TIMEOUT: { status: 504, flag: ResponseFlag.UT, body: 'upstream request timeout' },
  /** A circuit breaker (max_requests, max_pending_requests) refused the request. */
  UPSTREAM_OVERFLOW: {
    status: 503,
    flag: ResponseFlag.UO,
    body: 'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  },
  /** A route rewrite or redirect composed a head with CR, LF, NUL or the like: never sent (forwarded-heads.ts). */
  UNSAFE_ROUTE_HEAD: { status: 500, flag: ResponseFlag.NR, body: 'the route produced an invalid request or Location' },
  /** An upgrade (WebSocket, CONNECT) the connection manager lists but the route disables (Envoy: 403, upgrade_failed). */
  UPGRADE_FAILED: { status: 403, flag: 0, body: '' },
  REQUEST_HEADERS_TIMEOUT: { status: 408, flag: ResponseFlag.DPE, body: 'request headers timeout' },
  /** The body outgrew the replay limit while a retry waited for its backoff: the retry cannot send it whole (as Envoy). */
  RETRY_BUFFER_OVERFLOW: { status: 507, flag: 0, body: 'exceeded request buffer limit while retrying upstream' },
} as const satisfies Record<string, LocalReplyKind>;

/** Takes a status code; returns its standard reason phrase (the IANA registry's, as node's table), 'Unknown' for an unregistered code. */
export function reasonPhrase(status: number): string {
  return REASON_PHRASES[status] ?? 'Unknown';
}
