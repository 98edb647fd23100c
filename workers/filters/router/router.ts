// The router, the terminal step of every route's filter chain (Envoy's
// router filter): from the head it takes the cluster, the hash, the retry
// state and the upstream head (prepare, once); then it keeps the body for
// replay, picks an endpoint, sends the request on an attempt, and hands the
// response to its stream to encode. It retries per the route's policy (and
// once on a stale pooled connection), under the route and per-try timers.
// It never answers the client itself: a failure goes back to the stream's
// replyFailure, the one place that turns it into a response.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { RouteAction } from '../../../src/config/bootstrap-types.js';
import { HEAD } from '../../../src/native.js';
import type { ActiveRequest } from '../../active-request.js';
import { upstreamHeadFor } from '../../forwarded-heads.js';
import { headShapeOf } from '../../http2/router-head-shape.js';
import { LocalReply, type LocalReplyKind } from '../../local-reply.js';
import { localReplyForFailure } from '../../local-response.js';
import { headOut } from '../../parse-scratch.js';
import { findHeader } from '../../header-block.js';
import { parseGrpcTimeout } from '../../http2/grpc-timeout.js';
import { timerDelay } from '../../../src/timer-delay.js';
import { NO_HASH, requestHash } from '../../request-hash.js';
import { ResponseFlag } from '../../response-flags.js';
import { RetryState } from '../../retry-state.js';
import type { UpstreamCluster } from '../../upstream-cluster.js';
import { BodyMode, UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from '../../upstream-connection.js';
import type { UpstreamEndpoint } from '../../upstream-endpoint.js';
import { defineRareFields } from '../../request-rare-fields.js';

/** Request bodies up to this size are kept so a retry can replay them (Envoy's default buffer limit). */
const REPLAY_LIMIT = 1024 * 1024;
/** Body bytes queued for an upstream that is still connecting before reading from the client pauses. */
const QUEUE_LIMIT = 256 * 1024;
const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';
/**
 * Methods a proxy may send again on its own, without a retry policy, when a pooled connection turned out to be
 * closed before any of the response arrived (RFC 9110 9.2.2: idempotent methods only).
 */
const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
/** The shared "no body pieces" list (frozen: a push would throw), so a request without a body allocates none. */
const NO_PIECES: Buffer[] = Object.freeze([]) as unknown as Buffer[];
/** prepare(): not yet, done, or refused (failure says why). */
const PREP_NONE = 0;
const PREP_OK = 1;
const PREP_FAILED = 2;

/** The Router fields a request without retries, a body, hashing or HTTP/2 never sets (request-rare-fields.ts). */
const ROUTER_RARE_DEFAULTS = {
  failure: LocalReply.CLUSTER_NOT_FOUND,
  queued: NO_PIECES,
  queuedBytes: 0,
  replayBytes: 0,
  retry: null,
  hash: NO_HASH,
  triedHosts: null,
  attemptStart: 0,
  retriable: false,
  replayedStale: false,
  routeTimer: null,
  tryTimer: null,
  backoffTimer: null,
  expectContinue: false,
};

export class Router implements UpstreamStream {
  /** The `declare`d fields below live here once one is set (request-rare-fields.ts). */
  rareState: unknown[] | null = null;
  cluster: UpstreamCluster | null = null;
  endpoint: UpstreamEndpoint | null = null;
  /** Attempts sent upstream so far (the access log's UPSTREAM_REQUEST_ATTEMPT_COUNT). */
  attempts = 0;
  private prepared = PREP_NONE;
  /** Why prepare() refused the request. */
  declare private failure: LocalReplyKind;
  /** The chain reached the router: body pieces go upstream, not to a queue for later. */
  private routed = false;
  private upstream: UpstreamAttempt | null = null;
  private upstreamReady = false;
  private upstreamHead: Buffer | null = null;
  /** upstreamHead's shape (HEAD_SHAPE bits), for an HTTP/2 upstream stream. */
  private headShape = 0;
  /** Body pieces (already framed for upstream) not yet written to the current attempt; NO_PIECES when none. */
  declare private queued: Buffer[];
  declare private queuedBytes: number;
  /**
   * Every body piece so far, for a retry or a mirror to send (NO_PIECES until the first); null once over
   * REPLAY_LIMIT or once nothing can send it again (no retry policy, and no stale-connection replay possible).
   */
  private replay: Buffer[] | null = NO_PIECES;
  declare private replayBytes: number;
  declare private retry: RetryState | null;
  /** hash_policy's hash, for RING_HASH / MAGLEV clusters only (else NO_HASH); retries reuse it. */
  declare private hash: number;
  /** retry_host_predicate previous_hosts: the endpoints tried so far (made on the first retry that needs it). */
  declare private triedHosts: UpstreamEndpoint[] | null;
  /** When the attempt began (performance.now()), for PEAK_EWMA clusters only. */
  declare private attemptStart: number;
  /** The route's retry policy may send the request again (num_retries > 0): the body is kept. */
  declare private retriable: boolean;
  /** The request was sent again once because its pooled connection was stale (at most once, idempotent only). */
  declare private replayedStale: boolean;
  declare private routeTimer: NodeJS.Timeout | null;
  /** The route timeout was armed (on the connection's reusable timer for HTTP/1.1, routeTimer for HTTP/2). */
  private routeTimerArmed = false;
  declare private tryTimer: NodeJS.Timeout | null;
  /** Expect: 100-continue with a body: answered here, dropped from the upstream head. */
  declare private readonly expectContinue: boolean;
  declare private backoffTimer: NodeJS.Timeout | null;
  private timeoutMs = 0;

  constructor(
    private readonly stream: ActiveRequest,
    /** Expect: 100-continue with a body: answered here, dropped from the upstream head. */
    expectContinue: boolean,
  ) {
    this.expectContinue = expectContinue;
  }

  /** scheme_header_transformation: match_upstream says the upstream transport's scheme, else the request's. */
  upstreamScheme(upstreamTls: boolean): string {
    if (this.stream.hcm?.scheme.matchUpstream === true) return upstreamTls ? 'https' : 'http';
    return this.stream.scheme;
  }

  /** h2 hook (UpstreamStream.upstreamHeadShape): the shape of the head this router made, when buf is that head. */
  upstreamHeadShape(buf: Buffer): number {
    return buf === this.upstreamHead ? this.headShape : -1;
  }

  /** A retry was sent (a 5xx the proxy then makes says URX). */
  get retried(): boolean {
    return this.retry !== null && this.retry.used > 0;
  }

  /**
   * What the router takes from the head (`head`/`fields`, valid now), once: a mirror filter may ask first. False
   * when the request cannot go (failure says why).
   */
  prepare(head: Buffer, fields: Uint32Array): boolean {
    if (this.prepared !== PREP_NONE) return this.prepared === PREP_OK;
    this.prepared = PREP_FAILED;
    const action = this.stream.route!.route.action as RouteAction; // the route the request was given to this router with
    const stream = this.stream;
    // Only a weighted split needs the random number.
    const cluster = stream.clusters.get(stream.route!.pickCluster(action.clusters.length > 1 ? Math.random() : 0));
    if (cluster === undefined) return false;
    this.cluster = cluster;
    this.timeoutMs = action.timeoutMs;
    const grpcMax = action.grpcTimeoutHeaderMaxMs;
    if (grpcMax !== undefined && grpcMax !== null) {
      // max_stream_duration.grpc_timeout_header_max: the client's grpc-timeout is the timeout, within the bound.
      const asked = parseGrpcTimeout(findHeader(head, fields, 'grpc-timeout'));
      if (asked >= 0) this.timeoutMs = grpcMax > 0 ? Math.min(asked, grpcMax) : asked;
    }
    if (cluster.usesHash && action.hashPolicy.length > 0) {
      this.hash = requestHash(action.hashPolicy, head, fields, stream.query, stream.conn.remoteAddress, stream.conn, stream);
    }
    if (action.retryPolicy !== null) {
      this.retry = new RetryState(action.retryPolicy);
      this.retriable = action.retryPolicy.numRetries > 0;
    }
    this.upstreamHead = upstreamHeadFor(stream, head, fields, fields[HEAD.FLAGS]!, action, this.expectContinue);
    if (this.upstreamHead === null) {
      this.failure = LocalReply.UNSAFE_ROUTE_HEAD;
      return false;
    }
    // Lines added by config or a filter may say their own framing: such a head is parsed again (shape -1).
    this.headShape = stream.plan.requestAdd.length === 0 && stream.filterRequestAdd === '' ? headShapeOf(fields[HEAD.FLAGS]!, fields, stream.method) : -1;
    this.prepared = PREP_OK;
    return true;
  }

  /** The head the router sends upstream (after prepare()); null when it refused the request. */
  preparedHead(): Buffer | null {
    return this.upstreamHead;
  }

  bodySoFar(): readonly Buffer[] | null {
    return this.replay;
  }

  /** The chain ran through: the request goes upstream. */
  decodeHeaders(head: Buffer, fields: Uint32Array): void {
    const stream = this.stream;
    if (!this.prepare(head, fields)) {
      stream.replyFailure(this.failure);
      return;
    }
    this.routed = true;
    // Envoy answers 100-continue itself rather than waiting on the upstream.
    if (this.expectContinue) stream.conn.write(CONTINUE_100);
    if (stream.requestComplete) this.startRouteTimer();
    // The body so far is kept only for what may send it again: the retry policy, or a stale pooled connection.
    if (!this.retriable && !IDEMPOTENT_METHODS.has(stream.method)) this.replay = null;
    this.beginAttempt();
  }

  /** One body piece, framed for upstream: kept for replay, written or queued. */
  decodeData(piece: Buffer): void {
    const replay = this.replay;
    if (replay !== null) {
      this.replayBytes += piece.length;
      if (this.replayBytes > REPLAY_LIMIT) {
        this.replay = null;
        if (this.backoffTimer !== null) {
          // A retry waiting out its backoff would send only the pieces queued since: a body missing its start.
          clearTimeout(this.backoffTimer);
          this.backoffTimer = null;
          this.stream.replyFailure(LocalReply.RETRY_BUFFER_OVERFLOW);
          return;
        }
      } else if (replay === NO_PIECES) this.replay = [piece];
      else replay.push(piece);
    }
    if (this.upstreamReady) {
      if (!this.upstream!.write(piece)) this.stream.conn.pauseReading();
    } else if (this.upstream !== null || this.backoffTimer !== null || !this.routed) {
      // Waiting for a connection, a retry's backoff, or the filter that stopped the chain.
      if (this.queued === NO_PIECES) this.queued = [piece];
      else this.queued.push(piece);
      this.queuedBytes += piece.length;
      if (this.queuedBytes > QUEUE_LIMIT) this.stream.conn.pauseReading();
    }
  }

  /** The request body is complete. */
  decodeComplete(): void {
    if (!this.routed) return; // decodeHeaders starts the route timer when the chain reaches the router
    this.startRouteTimer();
    if (this.upstreamReady) {
      this.upstream!.endRequest();
      this.startTryTimer();
    }
  }

  // ---------------------------------------------------------------- attempts

  /** Picks an endpoint and starts an attempt on it (first try, retry, or stale-connection replay on a `fresh` connection). */
  private beginAttempt(fresh = false): void {
    const cluster = this.cluster!;
    const previous = this.endpoint;
    if (previous !== null && this.retry !== null && this.retry.policy.previousHostsPredicate) (this.triedHosts ??= []).push(previous);
    const endpoint = this.triedHosts === null
      ? cluster.pick(this.hash, previous)
      : cluster.pick(this.hash, previous, this.triedHosts, this.retry!.policy.hostSelectionRetryMaxAttempts);
    if (endpoint === null) {
      this.stream.replyFailure(LocalReply.NO_HEALTHY_UPSTREAM);
      return;
    }
    this.endpoint = endpoint;
    this.attempts++;
    if (cluster.latency !== null) this.attemptStart = performance.now();
    endpoint.rqActive++;
    endpoint.rqTotal++;
    const counters = endpoint.counters;
    counters.rqActive++;
    counters.rqTotal++;
    if (this.replay !== null && this.replay !== NO_PIECES) {
      this.queued = this.replay.slice();
      this.queuedBytes = this.replayBytes;
    }
    this.upstream = endpoint.acquire(this, fresh);
  }

  onUpstreamReady(conn: UpstreamConnection): void {
    const stream = this.stream;
    this.upstream = conn;
    this.upstreamReady = true;
    conn.headRequest = stream.method === 'HEAD';
    // Without a retry policy only a stale pooled connection sends a request again, and only once.
    if (!this.retriable && (!conn.reused || this.replayedStale)) this.replay = null;
    const head = this.upstreamHead!;
    const queued = this.queued;
    let writable: boolean;
    if (queued.length === 0) {
      writable = conn.write(head);
    } else if (queued.length === 1 && this.queuedBytes < 16384) {
      writable = conn.write(joinTwo(head, queued[0]!));
    } else {
      writable = conn.write(head);
      for (let i = 0; i < queued.length; i++) writable = conn.write(queued[i]!);
    }
    this.queued = NO_PIECES;
    this.queuedBytes = 0;
    if (stream.requestComplete) {
      conn.endRequest();
      this.startTryTimer();
    } else if (writable) {
      stream.conn.resumeReading();
    } else {
      stream.conn.pauseReading();
    }
  }

  onUpstreamWritable(): void {
    if (this.stream.receivingBody) this.stream.conn.resumeReading();
  }

  // ---------------------------------------------------------------- the response, to the stream

  onUpstreamResponseHead(conn: UpstreamConnection, buf: Buffer, start: number, _length: number, bodyMode: number): void {
    const status = headOut[HEAD.STATUS_CODE]!;
    if (this.retry !== null && (this.retry.retriesStatus(status) || (bodyMode === BodyMode.NONE && this.retry.watchesGrpc
      && this.retry.retriesGrpc(Number(findHeader(buf, headOut, 'grpc-status') ?? -1)))) && this.canRetry()) {
      this.endAttempt(false);
      conn.abandon();
      this.scheduleRetry();
      return;
    }
    this.clearTryTimer();
    // Part of a response arrived: a stale-connection replay is no longer possible, only the retry policy's.
    if (!this.retriable) this.replay = null;
    this.stream.encodeHeaders(buf, start, headOut, status, bodyMode);
  }

  onUpstreamBody(buf: Buffer, start: number, end: number): void {
    if (end > start && !this.stream.encodeData(buf, start, end)) this.upstream!.pause();
  }

  onUpstreamReadEnd(): void {
    this.stream.flushHead();
  }

  /** The client drained its socket: let the upstream send again. */
  onDownstreamWritable(): void {
    if (this.upstream !== null && this.stream.responseStarted) this.upstream.resume();
  }

  get downstreamHttp2(): boolean {
    return this.stream.http2Stream !== null;
  }

  requestTrailers(): Record<string, string> | null {
    return this.stream.requestTrailers;
  }

  upstreamMayTrail(): void {
    if (this.stream.http2Stream !== null) this.stream.http2Stream.mayTrail = true;
  }

  onUpstreamTrailers(trailers: Record<string, string>): void {
    this.stream.encodeTrailers(trailers);
  }

  onUpstreamResponseEnd(): void {
    this.stream.encodeEnd();
    this.endAttempt(true);
    this.stream.complete();
  }

  // ---------------------------------------------------------------- failures, retries, timers

  onUpstreamFailure(failure: number): void {
    const stream = this.stream;
    const conn = this.upstream;
    const staleReuse = conn !== null && conn.reused && conn.responseBytes === 0;
    this.endAttempt(false);
    if (stream.finished) return;
    // Mid-response: the client cannot be told with a status any more (unless not one byte went out yet).
    if (!stream.retractResponse()) return;
    // A pooled connection the upstream had closed before answering (a race with its idle timeout): not the
    // upstream's fault. RFC 9110 9.2.2: send it again, on a fresh connection, only if idempotent, and only once.
    if (
      failure === UpstreamFailure.RESET && staleReuse && !this.replayedStale &&
      IDEMPOTENT_METHODS.has(stream.method) && this.replayable()
    ) {
      this.replayedStale = true;
      this.beginAttempt(true);
      return;
    }
    if (this.retry !== null && this.retry.retriesFailure(failure) && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    stream.replyFailure(localReplyForFailure(failure));
  }

  private replayable(): boolean {
    return this.replay !== null && !this.stream.finished;
  }

  /** A retry is allowed now: the body can be replayed, retries are left, the retry budget admits one. */
  private canRetry(): boolean {
    return this.replayable() && this.retry!.hasBudget() && this.retry!.admit(this.cluster!.binding.cluster);
  }

  /** Counts a retry and waits its backoff; the backoff timer starts the attempt. */
  private scheduleRetry(): void {
    this.retry!.used++;
    this.cluster!.counters.rqRetry++;
    this.backoffTimer = setTimeout(onBackoffElapsed, timerDelay(this.retry!.backoffMs()), this);
  }

  /** The retry's backoff elapsed (timer). */
  backoffElapsed(): void {
    this.backoffTimer = null;
    if (!this.stream.finished) this.beginAttempt();
  }

  /** Arms the route timeout once, when the route has one and the request is still running. */
  private startRouteTimer(): void {
    if (this.timeoutMs > 0 && !this.routeTimerArmed && !this.stream.finished) {
      this.routeTimerArmed = true;
      // An HTTP/1.1 connection runs one request at a time: its one timer is re-armed, no timer made per request.
      if (this.stream.http2Stream === null) this.stream.conn.armRouteTimer(this, this.timeoutMs);
      else this.routeTimer = setTimeout(onRouteTimeout, timerDelay(this.timeoutMs), this);
    }
  }

  /** Arms the retry policy's per-try timeout for the current attempt, if it has one. */
  private startTryTimer(): void {
    const ms = this.retry === null ? 0 : this.retry.policy.perTryTimeoutMs;
    if (ms > 0 && this.tryTimer === null) this.tryTimer = setTimeout(onTryTimeout, timerDelay(ms), this);
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer);
      this.tryTimer = null;
    }
  }

  /** The route timeout fired (timer): 504, or cut a response already under way. */
  routeTimedOut(): void {
    this.routeTimer = null;
    const stream = this.stream;
    if (stream.finished) return;
    if (this.cluster !== null) this.cluster.counters.rqTimeout++;
    if (this.upstreamReady && !stream.responseStarted) this.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
    this.abandon();
    if (stream.responseStarted) stream.cutResponse(ResponseFlag.UT);
    else stream.replyFailure(LocalReply.UPSTREAM_TIMEOUT);
  }

  /** The per-try timeout fired (timer): retry, or 504. */
  tryTimedOut(): void {
    this.tryTimer = null;
    const stream = this.stream;
    if (stream.finished || stream.responseStarted) return;
    this.cluster!.counters.rqTimeout++;
    if (this.upstreamReady) this.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
    this.abandonAttempt();
    if (this.retry!.retriesTimeout() && this.canRetry()) this.scheduleRetry();
    else stream.replyFailure(LocalReply.UPSTREAM_TIMEOUT);
  }

  /** Closes the books on the current attempt (counters), without touching its connection. */
  private endAttempt(ok: boolean): void {
    const endpoint = this.endpoint;
    if (this.upstream === null || endpoint === null) return;
    this.upstream = null;
    this.upstreamReady = false;
    this.clearTryTimer();
    endpoint.rqActive--;
    endpoint.counters.rqActive--;
    if (!ok) endpoint.rqError++;
    const latency = this.cluster!.latency;
    if (latency !== null) {
      const now = performance.now();
      latency.record(endpoint.index, now - this.attemptStart, ok, now);
    }
  }

  /** Drops the current attempt and its connection (a timeout, a malformed request body). */
  abandonAttempt(): void {
    const conn = this.upstream;
    this.endAttempt(false);
    if (conn !== null) conn.abandon();
  }

  /** Gives up: no retry is coming, and the current attempt goes (client gone, route timeout). */
  abandon(): void {
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
    this.abandonAttempt();
  }

  /** The request is over: timers, the attempt, the retry budget and the kept body let go. */
  destroy(): void {
    if (this.routeTimer !== null) clearTimeout(this.routeTimer);
    if (this.routeTimerArmed && this.stream.http2Stream === null) this.stream.conn.disarmRouteTimer(this);
    this.clearTryTimer();
    if (this.upstream !== null) this.abandonAttempt();
    if (this.retry !== null) this.retry.release();
    this.replay = null;
    this.queued = NO_PIECES;
  }
}


// Timer callbacks: module functions given the router, so arming a timer makes no closure.
function onRouteTimeout(router: Router): void {
  router.routeTimedOut();
}

function onTryTimeout(router: Router): void {
  router.tryTimedOut();
}

function onBackoffElapsed(router: Router): void {
  router.backoffElapsed();
}

/** a then b in one buffer (Buffer.concat without its list). */
function joinTwo(a: Buffer, b: Buffer): Buffer {
  const joined = Buffer.allocUnsafe(a.length + b.length);
  a.copy(joined, 0);
  b.copy(joined, a.length);
  return joined;
}

defineRareFields(Router.prototype, ROUTER_RARE_DEFAULTS);
