// One request from head to last response byte: route it, pick a cluster and
// an endpoint, send it upstream (retrying per the route's policy), stream the
// response back, and record it. Every failure becomes a local reply through
// sendLocalReply, the one place that maps an error to a status and a flag.
import { randomUUID } from 'node:crypto';
import type { RouteAction } from '../src/config/bootstrap-types.js';
import { CHUNKED, FLAG, HEAD, HEADER_ID, decodeChunked, parseErrorStatus } from '../src/native.js';
import { redirectLocation, rewritePath, type CompiledRoute, type RequestView } from '../src/routing/route-table.js';
import type { DataPlaneSnapshot } from './data-plane-snapshot.js';
import type { DownstreamConnection } from './downstream-connection.js';
import { findHeader, headerList, headerValueById } from './header-block.js';
import { HttpFilterRun } from './http-filter-run.js';
import type { RouteFilters } from './route-filters.js';
import { LocalReply, type LocalReplyKind } from './local-reply.js';
import { encodeBodyPiece, encodeLocalResponse, encodeResponseHead, encodeUpstreamHead } from './message-heads.js';
import { chunkSegments, headOut } from './parse-scratch.js';
import { ResponseFlag, responseFlagsText } from './response-flags.js';
import { EMPTY_HEADER_PLAN, headerPlanFor, type RouteHeaderPlan } from './route-header-plan.js';
import { retain } from './shared-read-buffer.js';
import { RetryState } from './retry-state.js';
import type { UpstreamCluster } from './upstream-cluster.js';
import { parseRequestTarget } from './request-target.js';
import { NO_HASH, requestHash } from './request-hash.js';
import { BodyMode, UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from './upstream-connection.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

/** Request bodies up to this size are kept so a retry can replay them (Envoy's default buffer limit). */
const REPLAY_LIMIT = 1024 * 1024;
/** Body bytes queued for an upstream that is still connecting before reading from the client pauses. */
const QUEUE_LIMIT = 256 * 1024;
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';

const BODY_NONE = 0;
const BODY_LENGTH = 1;
const BODY_CHUNKED = 2;

export class ActiveRequest implements UpstreamStream, RequestView {
  // ---- what was asked (RequestView) ----
  method = '';
  path = '';
  query = '';
  authority = '';
  requestId = '';
  private forwardedFor = '';
  private userAgent = '';
  private http11 = true;
  /** Lazily built for header matchers; valid only while start() runs (headOut is shared). */
  private headersCache: string[] | null = null;
  private headBuf: Buffer | null = null;

  // ---- downstream body ----
  receivingBody = false;
  private bodyMode = BODY_NONE;
  private bodyRemaining = 0;
  private chunkState: Float64Array | null = null;
  private requestComplete = false;

  // ---- routing and upstream ----
  private route: CompiledRoute | null = null;
  private plan: RouteHeaderPlan = EMPTY_HEADER_PLAN;
  private cluster: UpstreamCluster | null = null;
  private endpoint: UpstreamEndpoint | null = null;
  private upstream: UpstreamAttempt | null = null;
  private upstreamReady = false;
  private upstreamHead: Buffer | null = null;
  /** Body pieces (already framed for upstream) not yet written to the current attempt. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** Every body piece so far, for replay on retry; null once over REPLAY_LIMIT. */
  private replay: Buffer[] | null = [];
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
  /** Fault, CORS and mirror state; null unless the route has any of them (the v1 path). */
  private filterRun: HttpFilterRun | null = null;
  private staleRetries = 0;
  private routeTimer: NodeJS.Timeout | null = null;
  private tryTimer: NodeJS.Timeout | null = null;
  private backoffTimer: NodeJS.Timeout | null = null;
  private timeoutMs = 0;

  // ---- response ----
  private responseStarted = false;
  /** The response head, waiting for the first body bytes to share its write. */
  private pendingHead: Buffer | null = null;
  private chunkedOut = false;
  private closeAfter = false;
  private finished = false;
  private flags = 0;
  private responseCode = 0;
  private bytesReceived = 0;
  private bytesSent = 0;
  private readonly startTime = Date.now();
  private readonly startMark = performance.now();

  constructor(
    private readonly conn: DownstreamConnection,
    private readonly snapshot: DataPlaneSnapshot,
    private readonly listenerName: string,
  ) {}

  get headers(): readonly string[] {
    if (this.headersCache === null) this.headersCache = this.headBuf === null ? [] : headerList(this.headBuf, headOut);
    return this.headersCache;
  }

  /** A head the parser refused: answer 400/431 and close. */
  rejectMalformed(code: number): void {
    this.closeAfter = true;
    this.sendLocalReply(parseErrorStatus(code) === 431 ? LocalReply.HEADERS_TOO_LARGE : LocalReply.BAD_REQUEST);
  }

  /** The head did not arrive within request_headers_timeout: answer 408 and close. */
  rejectSlowHead(): void {
    this.closeAfter = true;
    this.sendLocalReply(LocalReply.REQUEST_HEADERS_TIMEOUT);
  }

  /** buf[0, headLength) is the request head just parsed into headOut. */
  start(buf: Buffer, headLength: number): void {
    const out = headOut;
    const flags = out[HEAD.FLAGS]!;
    this.http11 = out[HEAD.VERSION_MINOR] === 1;
    this.closeAfter = this.http11 ? (flags & FLAG.CONNECTION_CLOSE) !== 0 : (flags & FLAG.CONNECTION_KEEP_ALIVE) === 0;
    this.method = buf.latin1Slice(out[HEAD.METHOD_START]!, out[HEAD.METHOD_END]!);
    this.bytesReceived = headLength;
    if ((flags & FLAG.CHUNKED) !== 0) {
      this.bodyMode = BODY_CHUNKED;
      this.chunkState = new Float64Array(CHUNKED.STATE_SIZE);
    } else if ((flags & FLAG.CONTENT_LENGTH) !== 0) {
      this.bodyRemaining = out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!;
      if (this.bodyRemaining > 0) this.bodyMode = BODY_LENGTH;
    }
    this.receivingBody = this.bodyMode !== BODY_NONE;
    this.requestComplete = !this.receivingBody;
    this.requestId = headerValueById(buf, out, HEADER_ID.X_REQUEST_ID) || randomUUID();
    this.forwardedFor = headerValueById(buf, out, HEADER_ID.X_FORWARDED_FOR);
    if (this.conn.accessLogEnabled) this.userAgent = findHeader(buf, out, 'user-agent') ?? '';
    if (!parseRequestTarget(buf, out, this)) {
      this.closeAfter = true;
      this.sendLocalReply(LocalReply.BAD_REQUEST);
      return;
    }
    const listener = this.snapshot.listeners.get(this.listenerName);
    this.headBuf = buf;
    const route = listener === undefined ? null : listener.routes.match(this);
    this.headBuf = null;
    if (route === null) {
      this.sendLocalReply(LocalReply.NO_ROUTE);
      return;
    }
    this.route = route;
    this.plan = headerPlanFor(route);
    const action = route.route.action;
    if (action.type === 'direct_response') {
      this.sendResponse(action.status, action.body ?? '', '');
    } else if (action.type === 'redirect') {
      this.sendResponse(action.responseCode, '', `location: ${redirectLocation(action, this, 'http')}\r\n`);
    } else if (listener!.filters === null || this.runRequestFilters(listener!.filters.forRoute(route.route), buf, out)) {
      this.forward(buf, out, flags, action);
    }
  }

  /** The route's HTTP filters on the head (CORS, then fault); false when they answered the request themselves. */
  private runRequestFilters(filters: RouteFilters | null, buf: Buffer, out: Uint32Array): boolean {
    if (filters === null) return true;
    const run = (this.filterRun = new HttpFilterRun(filters));
    const answer = run.decodeHeaders(this, this, buf, out);
    this.flags |= run.flags;
    if (answer === null) return true;
    this.sendResponse(answer.status, answer.body, answer.headers);
    return false;
  }

  /** The fault delay elapsed: abort now, or go upstream. */
  faultDelayElapsed(): void {
    const run = this.filterRun!;
    const answer = run.afterDelay();
    this.flags |= run.flags;
    if (this.finished) return;
    if (answer !== null) this.sendResponse(answer.status, answer.body, answer.headers);
    else this.proceed();
  }

  private forward(buf: Buffer, out: Uint32Array, flags: number, action: RouteAction): void {
    const cluster = this.snapshot.clusters.get(this.route!.pickCluster(Math.random()));
    if (cluster === undefined) {
      this.sendLocalReply(LocalReply.CLUSTER_NOT_FOUND);
      return;
    }
    this.cluster = cluster;
    this.timeoutMs = action.timeoutMs;
    if (cluster.usesHash && action.hashPolicy.length > 0) {
      this.hash = requestHash(action.hashPolicy, buf, out, this.query, this.conn.remoteAddress, this.conn, this);
    }
    if (action.retryPolicy !== null) this.retry = new RetryState(action.retryPolicy);
    const expectContinue = (flags & FLAG.EXPECT_CONTINUE) !== 0 && this.receivingBody;
    this.upstreamHead = this.buildUpstreamHead(buf, out, flags, action, expectContinue);
    // Envoy answers 100-continue itself rather than waiting on the upstream.
    if (expectContinue) this.conn.write(CONTINUE_100);
    // A fault delay holds the request here (its body queues); faultDelayElapsed() goes on.
    if (this.filterRun !== null && this.filterRun.delaying) return;
    this.proceed();
  }

  /** To the upstream: the route timer, the mirrors (if any), the first attempt. */
  private proceed(): void {
    if (this.requestComplete) this.startRouteTimer();
    const run = this.filterRun;
    if (run !== null) run.startMirrors(this.snapshot.clusters, this.upstreamHead!, this.replay, this.requestComplete, this.timeoutMs);
    this.beginAttempt();
  }

  private buildUpstreamHead(buf: Buffer, out: Uint32Array, flags: number, action: RouteAction, dropExpect: boolean): Buffer {
    let path = this.path;
    if (action.prefixRewrite !== null) path = rewritePath(this.route!.route, path, action.prefixRewrite);
    const remote = this.conn.remoteAddress;
    return encodeUpstreamHead(buf, out, {
      method: this.method,
      pathAndQuery: this.query === '' ? path : path + '?' + this.query,
      host: action.hostRewriteLiteral ?? this.authority,
      forwardedFor: this.forwardedFor === '' ? remote : this.forwardedFor + ', ' + remote,
      requestId: this.requestId,
      framing:
        this.bodyMode === BODY_CHUNKED
          ? 'transfer-encoding: chunked\r\n'
          : (flags & FLAG.CONTENT_LENGTH) !== 0
            ? 'content-length: ' + this.bodyRemaining + '\r\n'
            : '',
      dropExpect,
      remove: this.plan.requestRemove,
      add: this.plan.requestAdd,
    });
  }

  // ---------------------------------------------------------------- attempts

  private beginAttempt(): void {
    const cluster = this.cluster!;
    const previous = this.endpoint;
    if (previous !== null && this.retry !== null && this.retry.policy.previousHostsPredicate) (this.triedHosts ??= []).push(previous);
    const endpoint = this.triedHosts === null
      ? cluster.pick(this.hash, previous)
      : cluster.pick(this.hash, previous, this.triedHosts, this.retry!.policy.hostSelectionRetryMaxAttempts);
    if (endpoint === null) {
      this.sendLocalReply(LocalReply.NO_HEALTHY_UPSTREAM);
      return;
    }
    this.endpoint = endpoint;
    if (cluster.latency !== null) this.attemptStart = performance.now();
    endpoint.rqActive++;
    endpoint.rqTotal++;
    const counters = endpoint.counters;
    counters.rqActive++;
    counters.rqTotal++;
    if (this.replay !== null && this.replay.length > 0) {
      this.queued = this.replay.slice();
      this.queuedBytes = this.replayBytes;
    }
    this.upstream = endpoint.acquire(this);
  }

  onUpstreamReady(conn: UpstreamConnection): void {
    this.upstream = conn;
    this.upstreamReady = true;
    conn.headRequest = this.method === 'HEAD';
    const head = this.upstreamHead!;
    const queued = this.queued;
    let writable: boolean;
    if (queued.length === 0) {
      writable = conn.write(head);
    } else if (queued.length === 1 && this.queuedBytes < 16384) {
      writable = conn.write(Buffer.concat([head, queued[0]!]));
    } else {
      writable = conn.write(head);
      for (let i = 0; i < queued.length; i++) writable = conn.write(queued[i]!);
    }
    this.queued = [];
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

  /** Request body bytes in buf[start, end); returns where this request's body ended (later bytes are the next request). */
  onDownstreamBody(buf: Buffer, start: number, end: number): number {
    if (this.bodyMode === BODY_LENGTH) {
      const take = Math.min(this.bodyRemaining, end - start);
      this.bodyRemaining -= take;
      this.deliver(retain(buf, start, start + take));
      if (this.bodyRemaining === 0) this.bodyComplete();
      return start + take;
    }
    const state = this.chunkState!;
    let pos = start;
    while (pos < end) {
      const count = decodeChunked(buf, pos, end, state, chunkSegments);
      if (count < 0) {
        this.downstreamProtocolError();
        return end;
      }
      for (let i = 0; i < count; i++) {
        const s = chunkSegments[2 * i]!;
        const e = chunkSegments[2 * i + 1]!;
        this.deliver(encodeBodyPiece(null, true, buf, s, e));
      }
      const consumed = state[CHUNKED.CONSUMED]!;
      if (state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) {
        this.deliver(LAST_CHUNK);
        this.bodyComplete();
        return consumed;
      }
      if (consumed <= pos) break; // the decoder kept what it had in its state
      pos = consumed;
    }
    return end;
  }

  private deliver(piece: Buffer): void {
    this.bytesReceived += piece.length;
    if (this.finished) return;
    const replay = this.replay;
    if (replay !== null) {
      this.replayBytes += piece.length;
      if (this.replayBytes > REPLAY_LIMIT) this.replay = null;
      else replay.push(piece);
    }
    const run = this.filterRun;
    if (run !== null) run.mirrorBody(piece);
    if (this.upstreamReady) {
      if (!this.upstream!.write(piece)) this.conn.pauseReading();
    } else if (this.upstream !== null || this.backoffTimer !== null || (run !== null && run.delaying)) {
      this.queued.push(piece);
      this.queuedBytes += piece.length;
      if (this.queuedBytes > QUEUE_LIMIT) this.conn.pauseReading();
    }
  }

  private bodyComplete(): void {
    this.receivingBody = false;
    this.requestComplete = true;
    if (this.finished) return;
    if (this.filterRun !== null) {
      this.filterRun.mirrorEnd();
      if (this.filterRun.delaying) return; // proceed() starts the route timer after the delay
    }
    this.startRouteTimer();
    if (this.upstreamReady) {
      this.upstream!.endRequest();
      this.startTryTimer();
    }
  }

  private downstreamProtocolError(): void {
    this.closeAfter = true;
    this.receivingBody = false;
    if (!this.responseStarted) {
      this.abandonAttempt();
      this.sendLocalReply(LocalReply.BAD_REQUEST);
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
    this.clearTryTimer();
    this.responseStarted = true;
    this.responseCode = status;
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
    const close = this.closeAfter || this.conn.draining;
    if (close) framing += 'connection: close\r\n';
    else if (!this.http11) framing += 'connection: keep-alive\r\n';
    if (this.setCookie !== null) framing += this.setCookie;
    framing += '\r\n';
    const run = this.filterRun;
    const head =
      run === null || run.corsOrigin === null
        ? encodeResponseHead(buf, start, out, this.plan.responseRemove, this.plan.responseAdd, framing)
        : encodeResponseHead(buf, start, out, run.filters.corsRemove(this.plan.responseRemove), this.plan.responseAdd, run.responseHeaders() + framing);
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
      this.conn.write(this.chunkedOut ? Buffer.concat([head, LAST_CHUNK]) : head);
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
    // A pooled connection the upstream had just closed: not the upstream's fault, replay once or twice.
    if (failure === UpstreamFailure.RESET && staleReuse && this.staleRetries < 2 && this.replayable()) {
      this.staleRetries++;
      this.beginAttempt();
      return;
    }
    if (this.retry !== null && this.retry.retriesFailure(failure) && this.canRetry()) {
      this.scheduleRetry();
      return;
    }
    this.sendLocalReply(
      failure === UpstreamFailure.CONNECT
        ? LocalReply.CONNECT_FAILURE
        : failure === UpstreamFailure.RESET
          ? LocalReply.UPSTREAM_RESET
          : failure === UpstreamFailure.OVERFLOW ? LocalReply.UPSTREAM_OVERFLOW : LocalReply.UPSTREAM_PROTOCOL_ERROR,
    );
  }

  private replayable(): boolean {
    return this.replay !== null && !this.finished;
  }

  private canRetry(): boolean {
    return this.replayable() && this.retry!.hasBudget() && this.retry!.admit(this.cluster!.binding.cluster);
  }

  private scheduleRetry(): void {
    this.retry!.used++;
    this.cluster!.counters.rqRetry++;
    this.backoffTimer = setTimeout(onBackoffElapsed, this.retry!.backoffMs(), this);
  }

  backoffElapsed(): void {
    this.backoffTimer = null;
    if (!this.finished) this.beginAttempt();
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

  // ---------------------------------------------------------------- timers

  private startRouteTimer(): void {
    if (this.timeoutMs > 0 && this.routeTimer === null && !this.finished) {
      this.routeTimer = setTimeout(onRouteTimeout, this.timeoutMs, this);
    }
  }

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

  routeTimedOut(): void {
    this.routeTimer = null;
    if (this.finished) return;
    if (this.cluster !== null) this.cluster.counters.rqTimeout++;
    if (this.upstreamReady && !this.responseStarted) this.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
    this.abandonAttempt();
    if (this.responseStarted) {
      this.flags |= ResponseFlag.UT;
      this.conn.destroy();
      this.complete();
    } else {
      this.sendLocalReply(LocalReply.UPSTREAM_TIMEOUT);
    }
  }

  tryTimedOut(): void {
    this.tryTimer = null;
    if (this.finished || this.responseStarted) return;
    this.cluster!.counters.rqTimeout++;
    if (this.upstreamReady) this.endpoint!.health.recordLocalFailure(); // outlier detection: a timeout
    this.abandonAttempt();
    if (this.retry!.retriesTimeout() && this.canRetry()) this.scheduleRetry();
    else this.sendLocalReply(LocalReply.UPSTREAM_TIMEOUT);
  }

  // ---------------------------------------------------------------- responses

  /** The one place a failure becomes a response: status, flag, body, counted and logged by complete(). */
  private sendLocalReply(kind: LocalReplyKind): void {
    this.flags |= kind.flag;
    if (this.retry !== null && this.retry.used > 0 && kind.status >= 500) this.flags |= ResponseFlag.URX;
    this.sendResponse(kind.status, kind.body, kind.body === '' ? '' : 'content-type: text/plain\r\n');
  }

  /** A response the proxy makes itself (local reply, direct_response, redirect). */
  private sendResponse(status: number, body: string, extraHeaders: string): void {
    if (this.finished) return;
    this.responseCode = status;
    this.responseStarted = true;
    if (this.receivingBody) this.closeAfter = true; // the unread body would be taken for the next request
    this.bytesSent += Buffer.byteLength(body);
    const connection = this.closeAfter || this.conn.draining ? 'connection: close\r\n' : this.http11 ? '' : 'connection: keep-alive\r\n';
    if (this.filterRun !== null) extraHeaders += this.filterRun.responseHeaders(); // CORS, as Envoy's encoder filters add it to local replies
    this.conn.write(encodeLocalResponse(status, body, extraHeaders, this.plan.responseAdd, connection));
    this.complete();
  }

  /** The client went away before the response was done. */
  onDownstreamClosed(): void {
    if (this.finished) return;
    this.flags |= ResponseFlag.DC;
    if (this.backoffTimer !== null) {
      clearTimeout(this.backoffTimer);
      this.backoffTimer = null;
    }
    this.abandonAttempt();
    this.complete();
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.filterRun !== null) this.filterRun.end();
    if (this.routeTimer !== null) clearTimeout(this.routeTimer);
    this.clearTryTimer();
    if (this.upstream !== null) this.abandonAttempt();
    if (this.retry !== null) this.retry.release();
    const durationMs = performance.now() - this.startMark;
    const clusterName = this.cluster === null ? '' : this.cluster.name;
    const ctx = this.conn.worker;
    ctx.stats.record(this.listenerName, clusterName, this.responseCode, this.flags, durationMs);
    if (ctx.accessLog.enabled) {
      ctx.accessLog.write({
        startTime: this.startTime,
        method: this.method,
        path: this.query === '' ? this.path : this.path + '?' + this.query,
        protocol: this.http11 ? 'HTTP/1.1' : 'HTTP/1.0',
        responseCode: this.responseCode,
        responseFlags: responseFlagsText(this.flags),
        bytesReceived: this.bytesReceived,
        bytesSent: this.bytesSent,
        durationMs,
        upstreamHost: this.endpoint === null ? '-' : this.endpoint.hostPort,
        upstreamCluster: clusterName === '' ? '-' : clusterName,
        requestId: this.requestId,
        authority: this.authority,
        forwardedFor: this.forwardedFor,
        userAgent: this.userAgent,
      });
    }
    this.replay = null;
    this.queued = [];
    this.conn.onRequestDone(this, this.closeAfter || this.receivingBody);
  }
}

function onBackoffElapsed(req: ActiveRequest): void {
  req.backoffElapsed();
}

function onRouteTimeout(req: ActiveRequest): void {
  req.routeTimedOut();
}

function onTryTimeout(req: ActiveRequest): void {
  req.tryTimedOut();
}
