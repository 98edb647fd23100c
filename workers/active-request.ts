// One request from head to last response byte, in the order it runs: parse
// the target and route it (start), run the route's HTTP filter chain
// (filters/filter-manager.ts; a route without filters skips it), then the
// router, the chain's terminal step: pick a cluster and an endpoint, send the
// request upstream (retrying per the route's policy, under the route and
// per-try timers), stream the response back through the filters'
// encodeHeaders, and record it. The request owns its state: helpers are given
// what they need and hand results back. Every failure becomes a response in
// replyFailure, the one place that maps an error to a status and a flag.
import { randomUUID } from 'node:crypto';
import { FLAG, HEAD, HEADER_ID, parseErrorStatus } from '../src/native.js';
import { redirectLocation, type CompiledRoute, type RequestView } from '../src/routing/route-table.js';
import { PATH_FORWARD, PATH_REDIRECT } from '../src/routing/path-normalization.js';
import type { DataPlaneSnapshot } from './data-plane-snapshot.js';
import type { DownstreamConnection } from './downstream-connection.js';
import type { FilterAnswer } from './filters/filter-answer.js';
import { FilterManager, type FilterChainOwner } from './filters/filter-manager.js';
import type { HttpFilterCallbacks, ResponseHeaderEdit } from './filters/http-filter.js';
import { upstreamHeadFor } from './forwarded-heads.js';
import { findHeader, headerList, headerValueById } from './header-block.js';
import { LocalReply, type LocalReplyKind } from './local-reply.js';
import { localReplyForFailure } from './local-response.js';
import { encodeBodyPiece, encodeLocalResponse, encodeResponseHead } from './message-heads.js';
import { headOut } from './parse-scratch.js';
import { BODY_NONE, LAST_CHUNK, readBodyFraming, readRequestBody } from './request-body-reader.js';
import { NO_HASH, requestHash } from './request-hash.js';
import { recordRequest } from './request-record.js';
import { normalizeTargetPath, parseRequestTarget } from './request-target.js';
import { ResponseFlag } from './response-flags.js';
import { RetryState } from './retry-state.js';
import { EMPTY_HEADER_PLAN, headerPlanFor, type RouteHeaderPlan } from './route-header-plan.js';
import type { UpstreamCluster } from './upstream-cluster.js';
import { BodyMode, UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from './upstream-connection.js';
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
/** The router's preparation of the upstream request: not yet, done, or refused (a local reply follows). */
const PREP_NONE = 0;
const PREP_OK = 1;
const PREP_FAILED = 2;

/** One per worker, refilled for each response head the filters edit (read synchronously): no object per request. */
const responseEdit: ResponseHeaderEdit = { remove: null, add: '' };

export class ActiveRequest implements UpstreamStream, RequestView, HttpFilterCallbacks, FilterChainOwner {
  // ---- what was asked (RequestView) ----
  method = '';
  path = '';
  query = '';
  authority = '';
  requestId = '';
  forwardedFor = '';
  userAgent = '';
  http11 = true;
  /**
   * The parsed head: the read buffer and the parser's scratch while start() runs; a copy once a filter
   * stops the chain (keepHead), until the router has used it; null otherwise.
   */
  headBuf: Buffer | null = null;
  headFields: Uint32Array | null = null;
  private headLength = 0;
  private headKept = false;
  /** Lazily built for header matchers (valid while the head is). */
  private headersCache: string[] | null = null;

  // ---- downstream body ----
  receivingBody = false;
  bodyMode = BODY_NONE;
  bodyRemaining = 0;
  chunkState: Float64Array | null = null;
  requestComplete = false;

  // ---- routing and filters ----
  route: CompiledRoute | null = null;
  plan: RouteHeaderPlan = EMPTY_HEADER_PLAN;
  /** The route's filter chain for this request; null when the route has none. */
  private filters: FilterManager | null = null;

  // ---- the router: upstream attempts ----
  cluster: UpstreamCluster | null = null;
  endpoint: UpstreamEndpoint | null = null;
  private prepared = PREP_NONE;
  private preparedFailure: LocalReplyKind | null = null;
  /** The router has the request (the chain ran through): body pieces go upstream, not to a queue for later. */
  private routed = false;
  private expectContinue = false;
  private upstream: UpstreamAttempt | null = null;
  private upstreamReady = false;
  private upstreamHeadBuf: Buffer | null = null;
  /** Body pieces (already framed for upstream) not yet written to the current attempt; NO_PIECES when none. */
  private queued: Buffer[] = NO_PIECES;
  private queuedBytes = 0;
  /**
   * Every body piece so far, for a retry or a mirror to send (NO_PIECES until the first); null once over
   * REPLAY_LIMIT or once nothing can send it again (no retry policy, and no stale-connection replay possible).
   */
  private replay: Buffer[] | null = NO_PIECES;
  private replayBytes = 0;
  private retry: RetryState | null = null;
  /** hash_policy's hash, for RING_HASH / MAGLEV clusters only (else NO_HASH); retries reuse it. */
  private hash = NO_HASH;
  /** The set-cookie line(s) a cookie hash policy generated, for the response head. */
  setCookie: string | null = null;
  /** retry_host_predicate previous_hosts: the endpoints tried so far (made on the first retry that needs it). */
  private triedHosts: UpstreamEndpoint[] | null = null;
  /** When the attempt began (performance.now()), for PEAK_EWMA clusters only. */
  private attemptStart = 0;
  /** The route's retry policy may send the request again (num_retries > 0): the body is kept. */
  private retriable = false;
  /** The request was sent again once because its pooled connection was stale (at most once, idempotent only). */
  private replayedStale = false;
  private routeTimer: NodeJS.Timeout | null = null;
  private tryTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private timeoutMs = 0;

  // ---- response ----
  responseStarted = false;
  /** The response head, waiting for the first body bytes to share its write. */
  private pendingHead: Buffer | null = null;
  private chunkedOut = false;
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
    if (this.headersCache === null) this.headersCache = this.headBuf === null ? [] : headerList(this.headBuf, this.headFields!);
    return this.headersCache;
  }

  /** A head the parser refused: answer 400/431 and close. */
  rejectMalformed(code: number): void {
    this.closeAfter = true;
    this.replyFailure(parseErrorStatus(code) === 431 ? LocalReply.HEADERS_TOO_LARGE : LocalReply.BAD_REQUEST);
  }

  /** The head did not arrive within request_headers_timeout: answer 408 and close. */
  rejectSlowHead(): void {
    this.closeAfter = true;
    this.replyFailure(LocalReply.REQUEST_HEADERS_TIMEOUT);
  }

  // ---------------------------------------------------------------- 1. the head: parse, route, filters

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
      this.replyFailure(LocalReply.BAD_REQUEST);
      return;
    }
    const listener = this.snapshot.listeners.get(this.listenerName);
    const config = listener?.config.pathNormalization;
    const verdict = normalizeTargetPath(this, config);
    if (verdict !== PATH_FORWARD) {
      // 307 to the normalized path, or 400 for a path the listener refuses.
      if (verdict === PATH_REDIRECT) this.respond(307, '', `location: ${this.query === '' ? this.path : this.path + '?' + this.query}\r\n`);
      else this.replyFailure(LocalReply.BAD_REQUEST);
      return;
    }
    this.headBuf = buf;
    this.headFields = out;
    this.headLength = headLength;
    const route = listener === undefined ? null : listener.routes.match(this);
    if (route === null) {
      this.replyFailure(LocalReply.NO_ROUTE);
    } else {
      this.route = route;
      this.plan = headerPlanFor(route);
      const action = route.route.action;
      if (action.type === 'direct_response') {
        this.respond(action.status, action.body ?? '', '');
      } else if (action.type === 'redirect') {
        const location = redirectLocation(action, this, 'http');
        if (location === null) this.replyFailure(LocalReply.UNSAFE_ROUTE_HEAD);
        else this.respond(action.responseCode, '', `location: ${location}\r\n`);
      } else {
        this.expectContinue = (flags & FLAG.EXPECT_CONTINUE) !== 0 && this.receivingBody;
        const chain = listener!.filters === null ? null : listener!.filters.forRoute(route.route);
        if (chain === null) {
          this.decodeHeadersToRouter();
        } else {
          this.filters = FilterManager.create(this, chain, this);
          this.filters.decodeHeaders();
        }
      }
    }
    // The read buffer and headOut are reused after this call: only a kept copy stays.
    if (!this.headKept) this.releaseHead();
  }

  /** A filter stopped the chain: the head outlives this read (the bytes copied once, offsets unchanged). */
  keepHead(): void {
    if (this.headKept) return;
    this.headKept = true;
    const buf = this.headBuf!;
    const out = this.headFields!;
    const from = out[HEAD.METHOD_START]!;
    const to = Math.min(from + this.headLength, buf.length);
    const copy = Buffer.allocUnsafe(to);
    buf.copy(copy, from, from, to);
    this.headBuf = copy;
    this.headFields = out.slice(0, HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * out[HEAD.HEADER_COUNT]!);
  }

  private releaseHead(): void {
    this.headBuf = null;
    this.headFields = null;
    this.headersCache = null;
  }

  // ---- HttpFilterCallbacks: what a filter may ask ----

  continueDecoding(): void {
    if (this.filters !== null) this.filters.continueDecoding();
  }

  sendLocalReply(answer: FilterAnswer): void {
    this.flags |= answer.flag;
    this.respond(answer.status, answer.body, answer.headers);
  }

  addResponseFlag(flag: number): void {
    this.flags |= flag;
  }

  get clusters(): ReadonlyMap<string, UpstreamCluster> {
    return this.snapshot.clusters;
  }

  upstreamHead(): Buffer | null {
    return this.prepareUpstream() ? this.upstreamHeadBuf : null;
  }

  bodySoFar(): readonly Buffer[] | null {
    return this.replay;
  }

  // ---------------------------------------------------------------- 2. the router (the chain's terminal step)

  /** The chain ran through (or the route has none): the request goes upstream. */
  decodeHeadersToRouter(): void {
    const ready = this.prepareUpstream();
    if (this.headKept) this.releaseHead(); // the router has taken all it needs from the head
    if (!ready) {
      this.replyFailure(this.preparedFailure!);
      return;
    }
    this.routed = true;
    // Envoy answers 100-continue itself rather than waiting on the upstream.
    if (this.expectContinue) this.conn.write(CONTINUE_100);
    if (this.requestComplete) this.startRouteTimer();
    // The body so far is kept only for what may send it again: the retry policy, or a stale pooled connection.
    if (!this.retriable && !IDEMPOTENT_METHODS.has(this.method)) this.replay = null;
    this.beginAttempt();
  }

  /**
   * What the router takes from the head, once (a mirror filter may ask first): the cluster, the hash, the retry
   * state and the upstream head. False when the request cannot go (preparedFailure says why).
   */
  private prepareUpstream(): boolean {
    if (this.prepared !== PREP_NONE) return this.prepared === PREP_OK;
    this.prepared = PREP_FAILED;
    const buf = this.headBuf!;
    const out = this.headFields!;
    const route = this.route!;
    const action = route.route.action;
    if (action.type !== 'route') return false;
    // Only a weighted split needs the random number.
    const cluster = this.snapshot.clusters.get(route.pickCluster(action.clusters.length > 1 ? Math.random() : 0));
    if (cluster === undefined) {
      this.preparedFailure = LocalReply.CLUSTER_NOT_FOUND;
      return false;
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
    this.upstreamHeadBuf = upstreamHeadFor(this, buf, out, out[HEAD.FLAGS]!, action, this.expectContinue);
    if (this.upstreamHeadBuf === null) {
      this.preparedFailure = LocalReply.UNSAFE_ROUTE_HEAD;
      return false;
    }
    this.prepared = PREP_OK;
    return true;
  }

  /** Picks an endpoint and starts an attempt on it (first try, retry, or stale-connection replay on a `fresh` connection). */
  private beginAttempt(fresh = false): void {
    const cluster = this.cluster!;
    const previous = this.endpoint;
    if (previous !== null && this.retry !== null && this.retry.policy.previousHostsPredicate) (this.triedHosts ??= []).push(previous);
    const endpoint = this.triedHosts === null
      ? cluster.pick(this.hash, previous)
      : cluster.pick(this.hash, previous, this.triedHosts, this.retry!.policy.hostSelectionRetryMaxAttempts);
    if (endpoint === null) {
      this.replyFailure(LocalReply.NO_HEALTHY_UPSTREAM);
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
    const head = this.upstreamHeadBuf!;
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
      this.startTryTimer();
    } else if (writable) {
      this.conn.resumeReading();
    } else {
      this.conn.pauseReading();
    }
  }

  onUpstreamWritable(): void {
    if (this.receivingBody) this.conn.resumeReading();
  }

  // ---------------------------------------------------------------- 3. the request body

  /** Request body bytes in buf[start, end); returns where this request's body ended (later bytes are the next request). */
  onDownstreamBody(buf: Buffer, start: number, end: number): number {
    return readRequestBody(this, buf, start, end);
  }

  /** One body piece, framed for upstream: kept for replay, given to the filters, written or queued. */
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
    if (this.filters !== null) this.filters.decodeData(piece);
    if (this.upstreamReady) {
      if (!this.upstream!.write(piece)) this.conn.pauseReading();
    } else if (this.upstream !== null || this.backoffTimer !== null || !this.routed) {
      // Waiting for a connection, a retry's backoff, or the filter that stopped the chain.
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
    if (this.filters !== null) this.filters.decodeComplete();
    if (!this.routed) return; // the router starts the route timer when the chain reaches it
    this.startRouteTimer();
    if (this.upstreamReady) {
      this.upstream!.endRequest();
      this.startTryTimer();
    }
  }

  /** The chunked body was malformed: 400 if nothing was answered yet, else cut the connection. */
  downstreamProtocolError(): void {
    this.closeAfter = true;
    this.receivingBody = false;
    if (!this.responseStarted) {
      this.abandonAttempt();
      this.replyFailure(LocalReply.BAD_REQUEST);
    } else {
      this.flags |= ResponseFlag.DPE;
      this.conn.destroy();
      this.complete();
    }
  }

  // ---------------------------------------------------------------- 4. the response

  onUpstreamResponseHead(conn: UpstreamConnection, buf: Buffer, start: number, length: number, bodyMode: number): void {
    const out = headOut;
    const status = out[HEAD.STATUS_CODE]!;
    if (this.retry !== null && this.retry.retriesStatus(status) && this.canRetry()) {
      this.endAttempt(false);
      conn.abandon();
      this.scheduleRetry();
      return;
    }
    this.clearTryTimer();
    // Part of a response arrived: a stale-connection replay is no longer possible, only the retry policy's.
    if (!this.retriable) this.replay = null;
    this.responseStarted = true;
    this.responseCode = status;
    const framing = this.responseFraming(out, status, bodyMode);
    const edit = responseEdit;
    edit.remove = this.plan.responseRemove;
    edit.add = '';
    if (this.filters !== null) this.filters.encodeHeaders(edit);
    // Held until the first body bytes of this read join it: one write, one syscall.
    this.pendingHead = encodeResponseHead(buf, start, out, edit.remove, this.plan.responseAdd, edit.add + framing);
  }

  /**
   * The framing, connection and set-cookie lines of the response head (and its blank line), from the upstream's
   * head in `out`; decides whether the body goes out chunked and whether the connection closes after it.
   */
  private responseFraming(out: Uint32Array, status: number, bodyMode: number): string {
    const flags = out[HEAD.FLAGS]!;
    let framing: string;
    if (bodyMode === BodyMode.LENGTH || (bodyMode === BodyMode.NONE && (flags & FLAG.CONTENT_LENGTH) !== 0)) {
      framing = 'content-length: ' + (out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!) + '\r\n';
    } else if (bodyMode === BodyMode.NONE) {
      framing = status === 204 || status === 304 ? '' : 'content-length: 0\r\n';
    } else if (this.http11) {
      framing = 'transfer-encoding: chunked\r\n';
      this.chunkedOut = true;
    } else {
      framing = ''; // HTTP/1.0 client: the body ends when the connection closes
      this.closeAfter = true;
    }
    if (this.receivingBody) this.closeAfter = true; // answered before the request body finished
    if (this.closeAfter || this.conn.draining) framing += 'connection: close\r\n';
    else if (!this.http11) framing += 'connection: keep-alive\r\n';
    if (this.setCookie !== null) framing += this.setCookie;
    return framing + '\r\n';
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

  // ---------------------------------------------------------------- 5. failures, retries, timers

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
    this.replyFailure(localReplyForFailure(failure));
  }

  private replayable(): boolean {
    return this.replay !== null && !this.finished;
  }

  /** A retry is allowed now: the body can be replayed, retries are left, the retry budget admits one. */
  private canRetry(): boolean {
    return this.replayable() && this.retry!.hasBudget() && this.retry!.admit(this.cluster!.binding.cluster);
  }

  /** Counts a retry and waits its backoff; the backoff timer starts the attempt. */
  private scheduleRetry(): void {
    this.retry!.used++;
    this.cluster!.counters.rqRetry++;
    this.backoffTimer = setTimeout(onBackoffElapsed, this.retry!.backoffMs(), this);
  }

  /** The retry's backoff elapsed (timer). */
  backoffElapsed(): void {
    this.backoffTimer = null;
    if (!this.finished) this.beginAttempt();
  }

  /** Arms the route timeout once, when the route has one and the request is still running. */
  private startRouteTimer(): void {
    if (this.timeoutMs > 0 && this.routeTimer === null && !this.finished) {
      this.routeTimer = setTimeout(onRouteTimeout, this.timeoutMs, this);
    }
  }

  /** Arms the retry policy's per-try timeout for the current attempt, if it has one. */
  private startTryTimer(): void {
    const ms = this.retry === null ? 0 : this.retry.policy.perTryTimeoutMs;
    if (ms > 0 && this.tryTimer === null) this.tryTimer = setTimeout(onTryTimeout, ms, this);
  }

  private clearTryTimer(): void {
    if (this.tryTimer !== null) {
      clearTimeout(this.tryTimer);
      this.tryTimer = null;
    }
  }

  private clearBackoffTimer(): void {
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
  }

  /** The route timeout fired (timer): 504, or cut a response already under way. */
  routeTimedOut(): void {
    this.routeTimer = null;
    if (this.finished) return;
    if (this.cluster !== null) this.cluster.counters.rqTimeout++;
    if (this.upstreamReady && !this.responseStarted) this.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
    this.clearBackoffTimer();
    this.abandonAttempt();
    if (this.responseStarted) {
      this.flags |= ResponseFlag.UT;
      this.conn.destroy();
      this.complete();
    } else {
      this.replyFailure(LocalReply.UPSTREAM_TIMEOUT);
    }
  }

  /** The per-try timeout fired (timer): retry, or 504. */
  tryTimedOut(): void {
    this.tryTimer = null;
    if (this.finished || this.responseStarted) return;
    this.cluster!.counters.rqTimeout++;
    if (this.upstreamReady) this.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
    this.abandonAttempt();
    if (this.retry!.retriesTimeout() && this.canRetry()) this.scheduleRetry();
    else this.replyFailure(LocalReply.UPSTREAM_TIMEOUT);
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

  /** Drops the current attempt and its connection (timeouts, client gone, local reply). */
  private abandonAttempt(): void {
    const conn = this.upstream;
    this.endAttempt(false);
    if (conn !== null) conn.abandon();
  }

  // ---------------------------------------------------------------- 6. local responses and the end

  /** The one place a failure becomes a response: status, flag, body; counted and logged by complete(). */
  replyFailure(kind: LocalReplyKind): void {
    this.flags |= kind.flag;
    if (this.retry !== null && this.retry.used > 0 && kind.status >= 500) this.flags |= ResponseFlag.URX;
    this.respond(kind.status, kind.body, kind.body === '' ? '' : 'content-type: text/plain\r\n');
  }

  /** A response the proxy makes itself (local reply, direct_response, redirect, filter answer); ends the request. */
  private respond(status: number, body: string, extraHeaders: string): void {
    if (this.finished) return;
    this.responseCode = status;
    this.responseStarted = true;
    if (this.receivingBody) this.closeAfter = true; // the unread body would be taken for the next request
    this.bytesSent += Buffer.byteLength(body);
    const connection = this.closeAfter || this.conn.draining ? 'connection: close\r\n' : this.http11 ? '' : 'connection: keep-alive\r\n';
    if (this.filters !== null) {
      // The filters see local replies too (CORS adds its headers, as Envoy's encoder filters do).
      const edit = responseEdit;
      edit.remove = null;
      edit.add = extraHeaders;
      this.filters.encodeHeaders(edit);
      extraHeaders = edit.add;
    }
    this.conn.write(encodeLocalResponse(status, body, extraHeaders, this.plan.responseAdd, connection));
    this.complete();
  }

  /** The client went away before the response was done. */
  onDownstreamClosed(): void {
    if (this.finished) return;
    this.flags |= ResponseFlag.DC;
    this.clearBackoffTimer();
    this.abandonAttempt();
    this.complete();
  }

  /** Ends the request once: timers, attempt and filters released, recorded, the connection told. */
  complete(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.filters !== null) this.filters.destroy();
    if (this.routeTimer !== null) clearTimeout(this.routeTimer);
    this.clearTryTimer();
    if (this.upstream !== null) this.abandonAttempt();
    if (this.retry !== null) this.retry.release();
    if (this.headKept) this.releaseHead();
    recordRequest(this);
    this.replay = null;
    this.queued = NO_PIECES;
    this.conn.onRequestDone(this, this.closeAfter || this.receivingBody);
  }
}

// Timer callbacks: module functions given the request, so arming a timer makes no closure.
function onRouteTimeout(req: ActiveRequest): void {
  req.routeTimedOut();
}

function onTryTimeout(req: ActiveRequest): void {
  req.tryTimedOut();
}

function onBackoffElapsed(req: ActiveRequest): void {
  req.backoffElapsed();
}

/** a then b in one buffer (Buffer.concat without its list). */
function joinTwo(a: Buffer, b: Buffer): Buffer {
  const joined = Buffer.allocUnsafe(a.length + b.length);
  a.copy(joined, 0);
  b.copy(joined, a.length);
  return joined;
}
