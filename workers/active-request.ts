// One request from head to last response byte: route it, pick a cluster and
// an endpoint, send it upstream (retrying per the route's policy), stream the
// response back, and record it. Every failure becomes a local reply through
// sendLocalReply (local-response.ts), the one place that maps an error to a
// status and a flag. Fields other request-*.ts modules read or set are public.
import { randomUUID } from 'node:crypto';
import type { RouteAction } from '../src/config/bootstrap-types.js';
import { FLAG, HEAD, HEADER_ID, parseErrorStatus } from '../src/native.js';
import { redirectLocation, type CompiledRoute, type RequestView } from '../src/routing/route-table.js';
import type { DataPlaneSnapshot } from './data-plane-snapshot.js';
import type { DownstreamConnection } from './downstream-connection.js';
import { responseHeadFor, upstreamHeadFor } from './forwarded-heads.js';
import { findHeader, headerList, headerValueById } from './header-block.js';
import type { HttpFilterRun } from './http-filter-run.js';
import { afterFaultDelay, runRequestFilters } from './http-filter-hooks.js';
import { LocalReply } from './local-reply.js';
import { localReplyForFailure, sendLocalReply, sendResponse } from './local-response.js';
import { encodeBodyPiece } from './message-heads.js';
import { headOut } from './parse-scratch.js';
import { BODY_NONE, LAST_CHUNK, readBodyFraming, readRequestBody } from './request-body-reader.js';
import { recordRequest } from './request-record.js';
import { clearBackoffTimer, clearTryTimer, startBackoffTimer, startRouteTimer, startTryTimer } from './request-timers.js';
import { ResponseFlag } from './response-flags.js';
import { EMPTY_HEADER_PLAN, headerPlanFor, type RouteHeaderPlan } from './route-header-plan.js';
import { RetryState } from './retry-state.js';
import type { UpstreamCluster } from './upstream-cluster.js';
import { normalizeTargetPath, parseRequestTarget } from './request-target.js';
import { PATH_FORWARD } from '../src/routing/path-normalization.js';
import { NO_HASH, requestHash } from './request-hash.js';
import { UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from './upstream-connection.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

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

export class ActiveRequest implements UpstreamStream, RequestView {
  // ---- what was asked (RequestView) ----
  method = '';
  path = '';
  query = '';
  authority = '';
  requestId = '';
  forwardedFor = '';
  userAgent = '';
  http11 = true;
  /** Lazily built for header matchers; valid only while start() runs (headOut is shared). */
  private headersCache: string[] | null = null;
  private headBuf: Buffer | null = null;

  // ---- downstream body ----
  receivingBody = false;
  bodyMode = BODY_NONE;
  bodyRemaining = 0;
  chunkState: Float64Array | null = null;
  private requestComplete = false;

  // ---- routing and upstream ----
  route: CompiledRoute | null = null;
  plan: RouteHeaderPlan = EMPTY_HEADER_PLAN;
  cluster: UpstreamCluster | null = null;
  endpoint: UpstreamEndpoint | null = null;
  private upstream: UpstreamAttempt | null = null;
  upstreamReady = false;
  private upstreamHead: Buffer | null = null;
  /** Body pieces (already framed for upstream) not yet written to the current attempt; NO_PIECES when none. */
  private queued: Buffer[] = NO_PIECES;
  private queuedBytes = 0;
  /**
   * Every body piece so far, for a retry or a mirror to send (NO_PIECES until the first); null once over
   * REPLAY_LIMIT or once nothing can send it again (no retry policy, and no stale-connection replay possible).
   */
  private replay: Buffer[] | null = NO_PIECES;
  private replayBytes = 0;
  retry: RetryState | null = null;
  /** hash_policy's hash, for RING_HASH / MAGLEV clusters only (else NO_HASH); retries reuse it. */
  private hash = NO_HASH;
  /** The set-cookie line(s) a cookie hash policy generated, for the response head. */
  setCookie: string | null = null;
  /** retry_host_predicate previous_hosts: the endpoints tried so far (made on the first retry that needs it). */
  private triedHosts: UpstreamEndpoint[] | null = null;
  /** When the attempt began (performance.now()), for PEAK_EWMA clusters only. */
  private attemptStart = 0;
  /** Fault, CORS and mirror state; null unless the route has any of them (the v1 path). */
  filterRun: HttpFilterRun | null = null;
  /** The route's retry policy may send the request again (num_retries > 0): the body is kept. */
  private retriable = false;
  /** The request was sent again once because its pooled connection was stale (at most once, idempotent only). */
  private replayedStale = false;
  routeTimer: NodeJS.Timeout | null = null;
  tryTimer: NodeJS.Timeout | null = null;
  backoffTimer: NodeJS.Timeout | null = null;
  timeoutMs = 0;

  // ---- response ----
  responseStarted = false;
  /** The response head, waiting for the first body bytes to share its write. */
  private pendingHead: Buffer | null = null;
  chunkedOut = false;
  closeAfter = false;
  finished = false;
  flags = 0;
  responseCode = 0;
  bytesReceived = 0;
  bytesSent = 0;
  readonly startMark = performance.now();

  constructor(
    readonly conn: DownstreamConnection,
    private readonly snapshot: DataPlaneSnapshot,
    readonly listenerName: string,
  ) {}

  get headers(): readonly string[] {
    if (this.headersCache === null) this.headersCache = this.headBuf === null ? [] : headerList(this.headBuf, headOut);
    return this.headersCache;
  }

  /** A head the parser refused: answer 400/431 and close. */
  rejectMalformed(code: number): void {
    this.closeAfter = true;
    sendLocalReply(this, parseErrorStatus(code) === 431 ? LocalReply.HEADERS_TOO_LARGE : LocalReply.BAD_REQUEST);
  }

  /** The head did not arrive within request_headers_timeout: answer 408 and close. */
  rejectSlowHead(): void {
    this.closeAfter = true;
    sendLocalReply(this, LocalReply.REQUEST_HEADERS_TIMEOUT);
  }

  /** buf[0, headLength) is the request head just parsed into headOut. */
  start(buf: Buffer, headLength: number): void {
    const out = headOut;
    const flags = out[HEAD.FLAGS]!;
    this.http11 = out[HEAD.VERSION_MINOR] === 1;
    this.closeAfter = this.http11 ? (flags & FLAG.CONNECTION_CLOSE) !== 0 : (flags & FLAG.CONNECTION_KEEP_ALIVE) === 0;
    this.method = buf.latin1Slice(out[HEAD.METHOD_START]!, out[HEAD.METHOD_END]!);
    this.bytesReceived = headLength;
    readBodyFraming(this, flags, out);
    this.receivingBody = this.bodyMode !== BODY_NONE;
    this.requestComplete = !this.receivingBody;
    this.requestId = headerValueById(buf, out, HEADER_ID.X_REQUEST_ID) || randomUUID();
    this.forwardedFor = headerValueById(buf, out, HEADER_ID.X_FORWARDED_FOR);
    if (this.conn.accessLogEnabled) this.userAgent = findHeader(buf, out, 'user-agent') ?? '';
    if (!parseRequestTarget(buf, out, this)) {
      this.closeAfter = true;
      sendLocalReply(this, LocalReply.BAD_REQUEST);
      return;
    }
    const chains = this.snapshot.listeners.get(this.listenerName)?.chains;
    // A reload may have removed the connection's chain: its listener's first chain serves it then.
    const listener = chains === undefined ? undefined : chains[this.conn.chainIndex] ?? chains[0];
    if (normalizeTargetPath(this, listener?.hcm.pathNormalization) !== PATH_FORWARD) return;
    this.headBuf = buf;
    const route = listener === undefined ? null : listener.routes.match(this);
    this.headBuf = null;
    if (route === null) {
      sendLocalReply(this, LocalReply.NO_ROUTE);
      return;
    }
    this.route = route;
    this.plan = headerPlanFor(route);
    const action = route.route.action;
    if (action.type === 'direct_response') {
      sendResponse(this, action.status, action.body ?? '', '');
    } else if (action.type === 'redirect') {
      const location = redirectLocation(action, this, 'http');
      if (location === null) sendLocalReply(this, LocalReply.UNSAFE_ROUTE_HEAD);
      else sendResponse(this, action.responseCode, '', `location: ${location}\r\n`);
    } else if (listener!.filters === null || runRequestFilters(this, listener!.filters.forRoute(route.route), buf, out)) {
      this.forward(buf, out, flags, action);
    }
  }

  /** The fault delay elapsed (FaultDelayTarget): abort now, or go upstream. */
  faultDelayElapsed(): void {
    afterFaultDelay(this);
  }

  private forward(buf: Buffer, out: Uint32Array, flags: number, action: RouteAction): void {
    // Only a weighted split needs the random number.
    const cluster = this.snapshot.clusters.get(this.route!.pickCluster(action.clusters.length > 1 ? Math.random() : 0));
    if (cluster === undefined) {
      sendLocalReply(this, LocalReply.CLUSTER_NOT_FOUND);
      return;
    }
    this.cluster = cluster;
    this.timeoutMs = action.timeoutMs;
    if (cluster.usesHash && action.hashPolicy.length > 0) {
      this.hash = requestHash(action.hashPolicy, buf, out, this.query, this.conn.remoteAddress, this.conn, this);
    }
    if (action.retryPolicy !== null) {
      this.retry = new RetryState(action.retryPolicy);
      this.retriable = action.retryPolicy.numRetries > 0;
    }
    const expectContinue = (flags & FLAG.EXPECT_CONTINUE) !== 0 && this.receivingBody;
    this.upstreamHead = upstreamHeadFor(this, buf, out, flags, action, expectContinue);
    if (this.upstreamHead === null) {
      sendLocalReply(this, LocalReply.UNSAFE_ROUTE_HEAD);
      return;
    }
    // Envoy answers 100-continue itself rather than waiting on the upstream.
    if (expectContinue) this.conn.write(CONTINUE_100);
    // A fault delay holds the request here (its body queues); faultDelayElapsed() goes on.
    if (this.filterRun !== null && this.filterRun.delaying) return;
    this.proceed();
  }

  /** To the upstream: the route timer, the mirrors (if any), the first attempt. */
  proceed(): void {
    if (this.requestComplete) startRouteTimer(this);
    const run = this.filterRun;
    if (run !== null) run.startMirrors(this.snapshot.clusters, this.upstreamHead!, this.replay, this.requestComplete, this.timeoutMs);
    // The body so far is kept only for what may send it again: the retry policy, or a stale pooled connection.
    if (!this.retriable && !IDEMPOTENT_METHODS.has(this.method)) this.replay = null;
    this.beginAttempt();
  }

  // ---------------------------------------------------------------- attempts

  /** Picks an endpoint and starts an attempt on it (first try, retry, or stale-connection replay on a `fresh` connection). */
  beginAttempt(fresh = false): void {
    const cluster = this.cluster!;
    const previous = this.endpoint;
    if (previous !== null && this.retry !== null && this.retry.policy.previousHostsPredicate) (this.triedHosts ??= []).push(previous);
    const endpoint = this.triedHosts === null
      ? cluster.pick(this.hash, previous)
      : cluster.pick(this.hash, previous, this.triedHosts, this.retry!.policy.hostSelectionRetryMaxAttempts);
    if (endpoint === null) {
      sendLocalReply(this, LocalReply.NO_HEALTHY_UPSTREAM);
      return;
    }
    this.endpoint = endpoint;
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
    this.upstream = conn;
    this.upstreamReady = true;
    conn.headRequest = this.method === 'HEAD';
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
    if (this.requestComplete) {
      conn.endRequest();
      startTryTimer(this);
    } else if (writable) {
      this.conn.resumeReading();
    } else {
      this.conn.pauseReading();
    }
  }

  onUpstreamWritable(): void {
    if (this.receivingBody) this.conn.resumeReading();
  }

  /** Request body bytes in buf[start, end); returns where this request's body ended (later bytes are the next request). */
  onDownstreamBody(buf: Buffer, start: number, end: number): number {
    return readRequestBody(this, buf, start, end);
  }

  /** One body piece, framed for upstream: kept for replay, copied to mirrors, written or queued. */
  deliver(piece: Buffer): void {
    this.bytesReceived += piece.length;
    if (this.finished) return;
    const replay = this.replay;
    if (replay !== null) {
      this.replayBytes += piece.length;
      if (this.replayBytes > REPLAY_LIMIT) this.replay = null;
      else if (replay === NO_PIECES) this.replay = [piece];
      else replay.push(piece);
    }
    const run = this.filterRun;
    if (run !== null) run.mirrorBody(piece);
    if (this.upstreamReady) {
      if (!this.upstream!.write(piece)) this.conn.pauseReading();
    } else if (this.upstream !== null || this.backoffTimer !== null || (run !== null && run.delaying)) {
      if (this.queued === NO_PIECES) this.queued = [piece];
      else this.queued.push(piece);
      this.queuedBytes += piece.length;
      if (this.queuedBytes > QUEUE_LIMIT) this.conn.pauseReading();
    }
  }

  bodyComplete(): void {
    this.receivingBody = false;
    this.requestComplete = true;
    if (this.finished) return;
    if (this.filterRun !== null) {
      this.filterRun.mirrorEnd();
      if (this.filterRun.delaying) return; // proceed() starts the route timer after the delay
    }
    startRouteTimer(this);
    if (this.upstreamReady) {
      this.upstream!.endRequest();
      startTryTimer(this);
    }
  }

  /** The chunked body was malformed: 400 if nothing was answered yet, else cut the connection. */
  downstreamProtocolError(): void {
    this.closeAfter = true;
    this.receivingBody = false;
    if (!this.responseStarted) {
      this.abandonAttempt();
      sendLocalReply(this, LocalReply.BAD_REQUEST);
    } else {
      this.flags |= ResponseFlag.DPE;
      this.conn.destroy();
      this.complete();
    }
  }

  onUpstreamResponseHead(conn: UpstreamConnection, buf: Buffer, start: number, length: number, bodyMode: number): void {
    const out = headOut;
    const status = out[HEAD.STATUS_CODE]!;
    if (this.retry !== null && this.retry.retriesStatus(status) && this.canRetry()) {
      this.endAttempt(false);
      conn.abandon();
      this.scheduleRetry();
      return;
    }
    clearTryTimer(this);
    // Part of a response arrived: a stale-connection replay is no longer possible, only the retry policy's.
    if (!this.retriable) this.replay = null;
    this.responseStarted = true;
    this.responseCode = status;
    const head = responseHeadFor(this, buf, start, out, status, bodyMode);
    // Held until the first body bytes of this read join it: one write, one syscall.
    this.pendingHead = head;
  }

  onUpstreamBody(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    this.bytesSent += n;
    // A copy (the read buffer is shared), joined to the waiting head or framed as a chunk: one write.
    const piece = encodeBodyPiece(this.pendingHead, this.chunkedOut, buf, start, end);
    this.pendingHead = null;
    if (!this.conn.write(piece)) this.upstream!.pause();
  }

  /** The upstream read that carried the head had no body bytes: send the head now. */
  onUpstreamReadEnd(): void {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      this.conn.write(head);
    }
  }

  /** The client drained its socket: let the upstream send again. */
  onDownstreamWritable(): void {
    if (this.upstream !== null && this.responseStarted) this.upstream.resume();
  }

  onUpstreamResponseEnd(): void {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      this.conn.write(this.chunkedOut ? joinTwo(head, LAST_CHUNK) : head);
    } else if (this.chunkedOut) {
      this.conn.write(LAST_CHUNK);
    }
    this.endAttempt(true);
    this.complete();
  }

  onUpstreamFailure(failure: number): void {
    const conn = this.upstream;
    const staleReuse = conn !== null && conn.reused && conn.responseBytes === 0;
    this.endAttempt(false);
    if (this.finished) return;
    if (this.responseStarted && this.pendingHead !== null) {
      // The head was parsed but not one byte went to the client yet: it can still get a proper answer.
      this.pendingHead = null;
      this.responseStarted = false;
      this.chunkedOut = false;
      this.bytesSent = 0;
    }
    if (this.responseStarted) {
      // Mid-response: the client cannot be told with a status any more.
      this.flags |= ResponseFlag.UC;
      this.conn.destroy();
      this.complete();
      return;
    }
    // A pooled connection the upstream had closed before answering (a race with its idle timeout): not the
    // upstream's fault. RFC 9110 9.2.2: send it again, on a fresh connection, only if idempotent, and only once.
    if (
      failure === UpstreamFailure.RESET && staleReuse && !this.replayedStale &&
      IDEMPOTENT_METHODS.has(this.method) && this.replayable()
    ) {
      this.replayedStale = true;
      this.beginAttempt(true);
      return;
    }
    if (this.retry !== null && this.retry.retriesFailure(failure) && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    sendLocalReply(this, localReplyForFailure(failure));
  }

  private replayable(): boolean {
    return this.replay !== null && !this.finished;
  }

  /** A retry is allowed now: the body can be replayed, retries are left, the retry budget admits one. */
  canRetry(): boolean {
    return this.replayable() && this.retry!.hasBudget() && this.retry!.admit(this.cluster!.binding.cluster);
  }

  /** Counts a retry and waits its backoff; the backoff timer starts the attempt. */
  scheduleRetry(): void {
    this.retry!.used++;
    this.cluster!.counters.rqRetry++;
    startBackoffTimer(this);
  }

  /** Closes the books on the current attempt (counters), without touching its connection. */
  private endAttempt(ok: boolean): void {
    const endpoint = this.endpoint;
    if (this.upstream === null || endpoint === null) return;
    this.upstream = null;
    this.upstreamReady = false;
    clearTryTimer(this);
    endpoint.rqActive--;
    endpoint.counters.rqActive--;
    if (!ok) endpoint.rqError++;
    const latency = this.cluster!.latency;
    if (latency !== null) {
      const now = performance.now();
      latency.record(endpoint.index, now - this.attemptStart, ok, now);
    }
  }

  /** Drops the current attempt and its connection (timeouts, client gone, local reply). */
  abandonAttempt(): void {
    const conn = this.upstream;
    this.endAttempt(false);
    if (conn !== null) conn.abandon();
  }

  // ---------------------------------------------------------------- responses

  /** The client went away before the response was done. */
  onDownstreamClosed(): void {
    if (this.finished) return;
    this.flags |= ResponseFlag.DC;
    clearBackoffTimer(this);
    this.abandonAttempt();
    this.complete();
  }

  /** Ends the request once: timers, attempt and filters released, recorded, the connection told. */
  complete(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.filterRun !== null) this.filterRun.end();
    if (this.routeTimer !== null) clearTimeout(this.routeTimer);
    clearTryTimer(this);
    if (this.upstream !== null) this.abandonAttempt();
    if (this.retry !== null) this.retry.release();
    recordRequest(this);
    this.replay = null;
    this.queued = NO_PIECES;
    this.conn.onRequestDone(this, this.closeAfter || this.receivingBody);
  }
}

/** a then b in one buffer (Buffer.concat without its list). */
function joinTwo(a: Buffer, b: Buffer): Buffer {
  const joined = Buffer.allocUnsafe(a.length + b.length);
  a.copy(joined, 0);
  b.copy(joined, a.length);
  return joined;
}
