// One request from head to last response byte (Envoy's ActiveStream), in the
// order it runs: parse the target and route it (start); run the route's HTTP
// filter chain (filters/filter-manager.ts; a route without filters skips it);
// the router, the chain's terminal step (filters/router/router.ts), sends it
// upstream and hands the response back here to encode (encodeHeaders,
// encodeData, encodeEnd) through the filters; then it is recorded. The
// request owns its state: the filters and the router ask through its methods,
// helpers are given what they need. Every failure becomes a response in
// replyFailure, the one place that maps an error to a status and a flag.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { xfccFor, type XfccAction } from './client-cert-header.js';
import { FLAG, HEAD, HEADER_ID, parseErrorStatus } from '../src/native.js';
import { PATH_FORWARD, PATH_REDIRECT } from '../src/routing/path-normalization.js';
import { redirectLocation, type CompiledRoute, type RequestView } from '../src/routing/route-table.js';
import type { ListenerHcm } from '../src/config/bootstrap-types.js';
import type { ChainRuntime, DataPlaneSnapshot } from './data-plane-snapshot.js';
import type { DownstreamConnection } from './downstream-connection.js';
import { localAnswer, type FilterAnswer } from './filters/filter-answer.js';
import { grpcStatusOf } from './http2/grpc-status.js';
import { FilterManager, type FilterChainOwner } from './filters/filter-manager.js';
import type { HttpFilterCallbacks, ResponseBodySink, ResponseBodyTransform, ResponseHeaderEdit } from './filters/http-filter.js';
import { Router } from './filters/router/router.js';
import { findHeader, hasValueById, headerList, headerValueById } from './header-block.js';
import { lastChunkWithTrailers, teAcceptsTrailers } from './http2/h1-trailer-block.js';
import { LocalReply, type LocalReplyKind } from './local-reply.js';
import { localReplyNeedsHeaders, mapLocalReply } from './local-reply-map.js';
import { contentLengthLine, encodeBodyPiece, encodeLocalResponse, encodeResponseHead, endOfHead } from './message-heads.js';
import { headOut } from './parse-scratch.js';
import { LAST_CHUNK, RequestBodyReader, type RequestBodySink } from './request-body-reader.js';
import { recordRequest } from './request-record.js';
import { RepeatSlice } from './repeat-slice.js';
import { REQUEST_RARE_DEFAULTS, defineRareFields } from './request-rare-fields.js';
import { newRequestId } from './request-id.js';
import type { AccessLogSet } from './access-log-set.js';
import { normalizeTargetPath, parseRequestTarget } from './request-target.js';
import { ResponseFlag } from './response-flags.js';
import { EMPTY_HEADER_PLAN, headerPlanFor, type RouteHeaderPlan } from './route-header-plan.js';
import type { UpstreamCluster } from './upstream-cluster.js';
import { BodyMode } from './upstream-connection.js';
import { tryUpgrade, wantsUpgrade } from './upgrade/upgrade-request.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';
import type { H2StreamConnection } from './http2/h2-stream-connection.js';
import type { TraceIds } from './tracing/trace-ids.js';
import { startRequestTrace } from './tracing/request-trace.js';

/** The method repeats request after request: the last string is reused when the bytes match (repeat-slice.ts). */
const methodSlice = new RepeatSlice(16);

/**
 * The request method as a string: the common ones as constants (compared byte by byte, cheaper than a latin1Slice
 * through the Buffer binding, and no string allocated per request), any other sliced from the head.
 */
function methodOf(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === 3 && buf[start] === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (n === 4 && buf[start] === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54) return 'POST';
  return methodSlice.slice(buf, start, end);
}

/** One per worker, refilled for each response head the filters edit (read synchronously): no object per request. */
const responseEdit: ResponseHeaderEdit = { remove: null, add: '', head: null, fields: null, status: 0, bodyMode: 0, body: null };

export class ActiveRequest implements ResponseBodySink, RequestView, HttpFilterCallbacks, FilterChainOwner, RequestBodySink {
  /** The `declare`d fields below live here once one is set (request-rare-fields.ts): not 8 bytes each in every request. */
  rareState: unknown[] | null = null;

  // ---- what was asked (RequestView) ----
  method = '';
  path = '';
  query = '';
  authority = '';
  requestId = '';
  /** The x-forwarded-client-cert action for the upstream head (client-cert-header.ts), set with the head. */
  xfcc: XfccAction = '';
  forwardedFor = '';
  http11 = true;
  /**
   * The parsed head: the read buffer and the parser's scratch while start() runs; a copy once a filter
   * stops the chain (keepHead), until the router has used it; null otherwise.
   */
  headBuf: Buffer | null = null;
  headFields: Uint32Array | null = null;
  private headLength = 0;
  declare private headKept: boolean;
  /** Lazily built for header matchers (valid while the head is). */
  declare private headersCache: string[] | null;

  // ---- downstream body ----
  /** Body bytes are still to come (only with a body, whose reader is a rare field too). */
  declare receivingBody: boolean;
  requestComplete = false;
  /** Reads the body off the client's bytes; null when the request has none. */
  declare private body: RequestBodyReader | null;

  // ---- routing, filters, router ----
  route: CompiledRoute | null = null;
  /** The route's header edits (cached per route in route-header-plan.ts, so read through, not kept per request). */
  get plan(): RouteHeaderPlan {
    return this.route === null ? EMPTY_HEADER_PLAN : headerPlanFor(this.route);
  }
  /** The route's filter chain for this request; null when the route has none. */
  declare private filters: FilterManager | null;
  /** The chain's terminal step; null for a request the proxy answers itself (no route, direct response, redirect). */
  private router: Router | null = null;
  /**
   * The HTTP/2 stream the request arrived on (its response trailers go there, and its response in parts:
   * startH2Parts), null on HTTP/1.1: the connection itself answers (an H2StreamConnection is its requests'
   * connection). Neither a rare field (every HTTP/2 request set it, making the side array for each) nor a field
   * (8 bytes of every HTTP/1.1 request).
   */
  get http2Stream(): H2StreamConnection | null {
    return this.conn.http2Stream;
  }
  /** Trailers an HTTP/2 client sent after its request body (null: none): to the upstream with the body's end. */
  declare requestTrailers: Record<string, string> | null;
  /** The upstream's response trailers (null: none), kept for the access log's %TRAILER(X)%. */
  declare responseTrailers: Record<string, string> | null;
  /** The response's gRPC status (grpc-status in its head or trailers, or of a local reply); -1 when none. */
  declare grpcStatus: number;
  /** The set-cookie line(s) a cookie hash policy generated, for the response head (request-hash.ts). */
  declare setCookie: string | null;
  /** The serving filter chain's HTTP connection manager settings (XFF rules, local_reply_config); null before routing. */
  hcm: ListenerHcm | null = null;
  /**
   * With tracing on the chain: the context the upstream head carries (tracing/upstream-trace-lines.ts) and the span
   * (sampled only); null = no lines. A field of its own, not a rare one: with tracing on every request sets it, and a
   * rare field's side object (~270 bytes) would then be made for every request. A pooled object, handed back as
   * the request is recorded (request-record.ts).
   */
  trace: TraceIds | null = null;

  /** The request's :scheme: the HCM's scheme_to_overwrite, else the downstream connection's. */
  get scheme(): string {
    const overwrite = this.hcm?.scheme.overwrite ?? '';
    if (overwrite !== '') return overwrite;
    return this.conn.tlsVersion === '' ? 'http' : 'https';
  }
  /** The request headers kept for local_reply_config filters and %REQ()% after the head is released; null when not needed. */
  declare private localReplyHeaders: readonly string[] | null;
  /** Header lines filters added to the upstream request (a local rate limit's request_headers_to_add_when_not_enforced). */
  declare filterRequestAdd: string;
  /** The route's request removals plus those filters asked for (compressor's remove_accept_encoding_header); null: the route's. */
  declare filterRequestRemove: readonly string[] | null;

  // ---- response ----
  responseStarted = false;
  /** The response head, waiting for the first body bytes to share its write. */
  private pendingHead: Buffer | null = null;
  private chunkedOut = false;
  /** An HTTP/1.1 client sent `te: trailers`: an HTTP/2 upstream's trailers end its chunked response. */
  declare private teTrailers: boolean;
  /** The chunked response's end with the upstream's trailers (null: the plain last chunk). */
  declare private lastChunk: Buffer | null;
  /** A filter rewrites the body (compression): pieces go through it, and the response ends when it has flushed. */
  declare private bodyTransform: ResponseBodyTransform | null;
  /** The upstream's body ended and the transform is flushing: the router's complete() waits for it. */
  declare private transformEnding: boolean;
  declare closeAfter: boolean;
  finished = false;
  /** ResponseFlag bits (0 for a request that went well). */
  declare flags: number;
  responseCode = 0;
  bytesReceived = 0;
  bytesSent = 0;
  readonly startMark = performance.now();
  /** The filter chain serving the request (from the snapshot it started with); undefined when its listener is gone. */
  private readonly chain: ChainRuntime | undefined;
  /** The access logs of the connection's filter chain (null: none); what they need of the heads is kept below. */
  get logs(): AccessLogSet | null {
    return this.chain?.accessLogs ?? null;
  }
  loggedRequestHeaders: (string | undefined)[] | null = null;
  declare loggedResponseHeaders: (string | undefined)[] | null;
  /** performance.now() when the request's last byte arrived / the upstream's response head did (0: not yet); only when a log's format reads them (AccessLogSet.marks). */
  declare requestEndMark: number;
  declare responseStartMark: number;

  constructor(
    readonly conn: DownstreamConnection,
    private readonly snapshot: DataPlaneSnapshot,
    readonly listenerName: string,
  ) {
    const chains = snapshot.listeners.get(listenerName)?.chains;
    // A reload may have removed the connection's chain: its listener's first chain serves it then.
    this.chain = chains === undefined ? undefined : chains[conn.chainIndex] ?? chains[0];
  }

  /** Attempts the router made upstream (0 when it made none). */
  get upstreamAttempts(): number {
    return this.router === null ? 0 : this.router.attempts;
  }

  get headers(): readonly string[] {
    if (this.headersCache === null) this.headersCache = this.headBuf === null ? [] : headerList(this.headBuf, this.headFields!);
    return this.headersCache;
  }

  /** The cluster the router picked (null before, or without a router). */
  get cluster(): UpstreamCluster | null {
    return this.router === null ? null : this.router.cluster;
  }

  /** The endpoint of the last attempt (null when none was made). */
  get endpoint(): UpstreamEndpoint | null {
    return this.router === null ? null : this.router.endpoint;
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

  // ---------------------------------------------------------------- 1. the head: parse, route, filters, router

  /** buf[0, headLength) is the request head just parsed into headOut. */
  start(buf: Buffer, headLength: number): void {
    const out = headOut;
    const flags = out[HEAD.FLAGS]!;
    this.http11 = out[HEAD.VERSION_MINOR] === 1;
    this.closeAfter = this.http11 ? (flags & FLAG.CONNECTION_CLOSE) !== 0 : (flags & FLAG.CONNECTION_KEEP_ALIVE) === 0;
    this.method = methodOf(buf, out[HEAD.METHOD_START]!, out[HEAD.METHOD_END]!);
    this.bytesReceived = headLength;
    this.body = RequestBodyReader.forHead(flags, out, this.conn.chunkState);
    this.receivingBody = this.body !== null;
    this.requestComplete = !this.receivingBody;
    this.requestId = headerValueById(buf, out, HEADER_ID.X_REQUEST_ID) || newRequestId();
    this.forwardedFor = headerValueById(buf, out, HEADER_ID.X_FORWARDED_FOR);
    if (this.http11 && hasValueById(out, HEADER_ID.TE)) this.teTrailers = teAcceptsTrailers(headerValueById(buf, out, HEADER_ID.TE));
    if (!parseRequestTarget(buf, out, this)) {
      this.closeAfter = true;
      this.replyFailure(LocalReply.BAD_REQUEST);
      return;
    }
    const listener = this.chain;
    this.hcm = listener?.hcm ?? null;
    const verdict = normalizeTargetPath(this, listener?.hcm.pathNormalization);
    this.xfcc = xfccFor(listener?.hcm.clientCertDetails, this.conn, buf, out);
    if (verdict !== PATH_FORWARD) {
      // 307 to the normalized path, or 400 for a path the listener refuses.
      if (verdict === PATH_REDIRECT) this.respond(307, '', `location: ${this.query === '' ? this.path : this.path + '?' + this.query}\r\n`);
      else this.replyFailure(LocalReply.BAD_REQUEST);
      return;
    }
    if (this.hcm?.tracing != null) startRequestTrace(this, buf, out, this.hcm.tracing);
    this.headBuf = buf;
    this.headFields = out;
    this.headLength = headLength;
    if (this.logs !== null) {
      this.loggedRequestHeaders = this.logs.captureRequest(buf, out, this);
      if (this.requestComplete && this.logs.marks) this.requestEndMark = this.startMark;
    }
    const route = listener === undefined ? null : listener.routes.match(this);
    if (route === null) {
      this.replyFailure(LocalReply.NO_ROUTE);
    } else {
      this.route = route;
      const action = route.route.action;
      if (action.type === 'direct_response') {
        if (this.hcm?.localReply != null) this.localReply(action.status, action.body ?? '', '');
        else this.respond(action.status, action.body ?? '', '');
      } else if (action.type === 'redirect') {
        const location = redirectLocation(action, this, 'http');
        if (location === null) this.replyFailure(LocalReply.UNSAFE_ROUTE_HEAD);
        else this.respond(action.responseCode, '', `location: ${location}\r\n`);
      } else if (wantsUpgrade(flags, this.method) && tryUpgrade(this, buf, out, flags, action, listener!.hcm)) {
        // answered (403/404), or the connection became a tunnel (upgrade-request.ts)
      } else {
        const expectContinue = (flags & FLAG.EXPECT_CONTINUE) !== 0 && this.receivingBody;
        this.router = new Router(this, expectContinue);
        const chain = listener!.filters === null ? null : listener!.filters.forRoute(route.route);
        if (chain === null) {
          this.router.decodeHeaders(buf, out);
        } else {
          this.filters = FilterManager.create(this, chain, this);
          this.filters.decodeHeaders();
        }
      }
    }
    // The read buffer and headOut are reused after this call: only a kept copy stays (and the headers a
    // local_reply_config reads, for a failure that comes later).
    if (this.hcm?.localReply != null && !this.finished && localReplyNeedsHeaders(this.hcm.localReply)) this.localReplyHeaders = this.headers;
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

  /** The chain ran through: the router's turn. */
  decodeHeadersToRouter(): void {
    const buf = this.headBuf!;
    const fields = this.headFields!;
    if (this.headKept) this.releaseHead(); // after the router, nothing reads the head
    this.router!.decodeHeaders(buf, fields);
  }

  // ---- HttpFilterCallbacks: what a filter may ask ----

  continueDecoding(): void {
    if (this.filters !== null) this.filters.continueDecoding();
  }

  sendLocalReply(answer: FilterAnswer): void {
    this.flags |= answer.flag;
    if (this.http2Stream !== null && this.http2Stream.grpc) this.grpcStatus = grpcStatusOf(answer.headers);
    this.respond(answer.status, answer.body, answer.headers);
  }

  addResponseFlag(flag: number): void {
    this.flags |= flag;
  }

  get clusters(): ReadonlyMap<string, UpstreamCluster> {
    return this.snapshot.clusters;
  }

  addUpstreamRequestHeaders(lines: string): void {
    this.filterRequestAdd += lines;
  }

  removeUpstreamRequestHeader(name: string): void {
    this.filterRequestRemove = [...(this.filterRequestRemove ?? this.plan.requestRemove ?? []), name];
  }

  upstreamHead(): Buffer | null {
    const router = this.router!;
    return router.prepare(this.headBuf!, this.headFields!) ? router.preparedHead() : null;
  }

  bodySoFar(): readonly Buffer[] | null {
    return this.router!.bodySoFar();
  }

  // ---------------------------------------------------------------- 2. the request body

  /** Request body bytes in buf[start, end); returns where this request's body ended (later bytes are the next request). */
  onDownstreamBody(buf: Buffer, start: number, end: number): number {
    return this.body!.read(this, buf, start, end);
  }

  /** One body piece, framed for upstream: to the filters that have seen the head, then the router. */
  deliver(piece: Buffer): void {
    // An HTTP/2 client's request trailers go to an HTTP/1.1 upstream as the chunked body's trailer section.
    if (piece === LAST_CHUNK && this.requestTrailers !== null) piece = lastChunkWithTrailers(this.requestTrailers);
    this.bytesReceived += piece.length;
    if (this.finished) return;
    if (this.filters !== null) this.filters.decodeData(piece);
    if (this.router !== null) this.router.decodeData(piece);
  }

  bodyComplete(): void {
    this.receivingBody = false;
    this.requestComplete = true;
    if (this.logs !== null && this.logs.marks) this.requestEndMark = performance.now();
    if (this.finished) return;
    if (this.filters !== null) this.filters.decodeComplete();
    if (this.router !== null) this.router.decodeComplete();
  }

  /**
   * The chunked body was malformed: 400 if nothing was answered yet (431 for a trailer section past the limit, as
   * Envoy's HTTP/1 codec), else cut the connection.
   */
  downstreamProtocolError(tooLarge = false): void {
    this.closeAfter = true;
    this.receivingBody = false;
    if (!this.responseStarted) {
      if (this.router !== null) this.router.abandonAttempt();
      this.replyFailure(tooLarge ? LocalReply.HEADERS_TOO_LARGE : LocalReply.BAD_REQUEST);
    } else {
      this.cutResponse(ResponseFlag.DPE);
    }
  }

  // ---------------------------------------------------------------- 3. the response from upstream (the router's)

  /** The upstream's response head (buf at start, parsed in `out`, valid now): through the filters, held for the first body bytes. */
  encodeHeaders(buf: Buffer, start: number, out: Uint32Array, status: number, bodyMode: number): void {
    this.responseStarted = true;
    this.responseCode = status;
    if (this.http2Stream !== null && this.http2Stream.grpc) {
      const grpc = findHeader(buf, out, 'grpc-status');
      if (grpc !== undefined) this.grpcStatus = Number(grpc);
    }
    if (this.logs !== null) {
      if (this.logs.marks) this.responseStartMark = performance.now();
      this.loggedResponseHeaders = this.logs.captureResponse(buf, out);
    }
    const edit = responseEdit;
    edit.remove = this.plan.responseRemove;
    edit.add = '';
    if (this.filters !== null) {
      edit.head = buf;
      edit.fields = out;
      edit.status = status;
      edit.bodyMode = bodyMode;
      edit.body = null;
      this.filters.encodeHeaders(edit);
      edit.head = null;
      edit.fields = null;
      const transform = edit.body as ResponseBodyTransform | null; // set by a filter during the call
      if (transform !== null) {
        // The body's length changes: it goes out chunked (close-delimited to an HTTP/1.0 client).
        this.bodyTransform = transform;
        edit.body = null;
        bodyMode = BodyMode.CHUNKED;
        transform.start(this);
      }
    }
    const framing = this.responseFraming(out, status, bodyMode);
    // Held until the first body bytes of this read join it: one write, one syscall.
    this.pendingHead = encodeResponseHead(buf, start, out, edit.remove, this.plan.responseAdd, edit.add + framing);
    if (this.http2Stream !== null) this.http2Stream.parts = this.startH2Parts(out, status, bodyMode);
  }

  /**
   * h2 hook: whether this response goes to the HTTP/2 stream in parts (head, body pieces, end) instead of as
   * HTTP/1.1 bytes its reader parses back; no chunked framing then. The same outcome as the reader's: no body for
   * HEAD, 204, 304 or a zero content-length. Cases where the head's framing and the body disagree stay on the reader.
   */
  private startH2Parts(out: Uint32Array, status: number, bodyMode: number): boolean {
    const s = this.http2Stream!;
    if (this.bodyTransform !== null || status < 200 || !s.takesParts) return false;
    const hasLength = (out[HEAD.FLAGS]! & FLAG.CONTENT_LENGTH) !== 0 && status !== 204;
    const length = hasLength ? out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]! : 0;
    if (s.headRequest || status === 204 || status === 304) s.partsNoBody = true;
    else if (bodyMode === BodyMode.NONE) {
      if (length > 0) return false; // the head promises a body that will not come: the reader's reset
      s.partsNoBody = true;
    } else if (bodyMode === BodyMode.LENGTH) s.partsNoBody = length === 0;
    else s.partsNoBody = false;
    s.partsLength = !s.partsNoBody && bodyMode === BodyMode.LENGTH ? length : -1;
    this.chunkedOut = false;
    return true;
  }

  /**
   * The framing, connection and set-cookie lines of the response head (and its blank line), from the upstream's
   * head in `out`; decides whether the body goes out chunked and whether the connection closes after it.
   */
  private responseFraming(out: Uint32Array, status: number, bodyMode: number): string {
    const flags = out[HEAD.FLAGS]!;
    let framing: string;
    if (status === 204) {
      // RFC 9110 8.6: never a Content-Length on a 204, whatever the upstream claimed (a client honouring it would
      // take the next response's bytes as this one's body).
      framing = '';
    } else if (bodyMode === BodyMode.LENGTH || (bodyMode === BodyMode.NONE && (flags & FLAG.CONTENT_LENGTH) !== 0)) {
      // contentLengthLine and endOfHead below hand back the same strings while the length repeats (no string per response).
      framing = contentLengthLine(out[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + out[HEAD.CONTENT_LENGTH_LO]!);
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
    return endOfHead(framing);
  }

  /** Response body bytes buf[start, end) (not empty); false when the client's socket is full (the router pauses the upstream). */
  encodeData(buf: Buffer, start: number, end: number): boolean {
    // A copy (the read buffer is shared) for the transform, which may keep it.
    if (this.bodyTransform !== null) return this.bodyTransform.write(Buffer.from(buf.subarray(start, end)));
    this.bytesSent += end - start;
    const head = this.pendingHead;
    this.pendingHead = null;
    const s = this.http2Stream;
    if (s !== null && s.parts) {
      if (head !== null) s.directHead(head, this.responseCode, s.partsNoBody, s.partsLength);
      return s.directData(buf, start, end);
    }
    // Joined to the waiting head: one write. Unframed bytes on HTTP/1.1 go from the read buffer as they are.
    if (!this.chunkedOut && this.http2Stream === null) return this.conn.writeBody(head, buf, start, end);
    // A copy (the read buffer is shared), framed as a chunk.
    return this.conn.write(encodeBodyPiece(head, this.chunkedOut, buf, start, end));
  }

  /** The upstream read that carried the head had no body bytes: send the head now. */
  flushHead(): void {
    const head = this.pendingHead;
    if (head !== null) {
      this.pendingHead = null;
      const s = this.http2Stream;
      if (s !== null && s.parts) s.directHead(head, this.responseCode, s.partsNoBody, s.partsLength);
      else this.conn.write(head);
    }
  }

  /**
   * The upstream's response trailers (HTTP/2): to an HTTP/2 client with the end of its stream; to an HTTP/1.1 client
   * that sent `te: trailers` as the trailer section of its chunked response; else dropped (RFC 9110 6.5).
   */
  encodeTrailers(trailers: Record<string, string>): void {
    this.responseTrailers = trailers;
    if (this.http2Stream !== null) this.http2Stream.trailers = trailers;
    else if (this.teTrailers && this.chunkedOut) this.lastChunk = lastChunkWithTrailers(trailers);
    const grpc = trailers['grpc-status'];
    if (grpc !== undefined) this.grpcStatus = Number(grpc);
  }

  /** The response is complete (the router then ends the request; with a body transform, complete() waits for its flush). */
  encodeEnd(): void {
    if (this.bodyTransform !== null) {
      this.transformEnding = true;
      this.bodyTransform.end();
      return;
    }
    const head = this.pendingHead;
    const s = this.http2Stream;
    if (s !== null && s.parts) {
      this.pendingHead = null;
      s.directEnd(head, this.responseCode, s.partsNoBody, s.partsLength);
    } else if (head !== null) {
      this.pendingHead = null;
      this.conn.write(this.chunkedOut ? joinTwo(head, this.lastChunk ?? LAST_CHUNK) : head);
    } else if (this.chunkedOut) {
      this.conn.write(this.lastChunk ?? LAST_CHUNK);
    }
  }

  /**
   * The upstream failed: true when the client can still get a status (no response byte went out; a head still
   * held is dropped), false when the response was under way and has been cut (UC).
   */
  retractResponse(): boolean {
    if (this.responseStarted && this.pendingHead !== null) {
      this.pendingHead = null;
      if (this.http2Stream !== null) this.http2Stream.parts = false;
      this.responseStarted = false;
      this.chunkedOut = false;
      this.lastChunk = null;
      this.bytesSent = 0;
      this.bodyTransform = null; // its filter's onDestroy releases it
    }
    if (!this.responseStarted) return true;
    this.cutResponse(ResponseFlag.UC);
    return false;
  }

  /** Mid-response, the client cannot be told with a status any more: flag why, close, end. */
  cutResponse(flag: number): void {
    this.flags |= flag;
    this.transformEnding = false;
    this.conn.destroy();
    this.complete();
  }

  /** The client drained its socket: let the upstream send again. */
  onDownstreamWritable(): void {
    if (this.bodyTransform !== null) this.bodyTransform.resume();
    if (this.router !== null) this.router.onDownstreamWritable();
  }

  // ---- ResponseBodySink: a body transform's output ----

  onTransformedData(piece: Buffer): boolean {
    if (this.finished) return true;
    this.bytesSent += piece.length;
    const framed = encodeBodyPiece(this.pendingHead, this.chunkedOut, piece, 0, piece.length);
    this.pendingHead = null;
    return this.conn.write(framed);
  }

  onTransformedEnd(): void {
    if (this.finished) return;
    this.bodyTransform = null;
    this.transformEnding = false;
    this.encodeEnd();
    this.complete();
  }

  onTransformFailed(): void {
    if (this.finished) return;
    this.bodyTransform = null;
    this.transformEnding = false;
    this.cutResponse(ResponseFlag.LR);
  }

  onTransformDrained(): void {
    if (this.router !== null && !this.transformEnding) this.router.onDownstreamWritable();
  }

  // ---------------------------------------------------------------- 4. local responses and the end

  /** The one place a failure becomes a response: status, flag, body; counted and logged by complete(). */
  replyFailure(kind: LocalReplyKind): void {
    this.flags |= kind.flag;
    if (this.router !== null && this.router.retried && kind.status >= 500) this.flags |= ResponseFlag.URX;
    if (this.http2Stream !== null && this.http2Stream.grpc) {
      // A gRPC client is answered in gRPC: trailers-only, status from the HTTP one (503 -> 14 UNAVAILABLE), as Envoy does.
      const answer = localAnswer(kind.status, null, kind.body, true, 0);
      this.grpcStatus = grpcStatusOf(answer.headers);
      this.respond(answer.status, '', answer.headers);
      return;
    }
    this.localReply(kind.status, kind.body, '');
  }

  /** A reply the proxy makes (failure or direct_response) through the listener's local_reply_config, when it has one. */
  private localReply(status: number, body: string, headers: string): void {
    const config = this.hcm?.localReply ?? null;
    if (config === null) {
      this.respond(status, body, body === '' ? headers : 'content-type: text/plain\r\n' + headers);
      return;
    }
    const m = mapLocalReply(config, status, body, this, this.localReplyHeaders ?? this.headers);
    this.respond(m.status, m.body, m.headers + headers);
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
      edit.head = null; // a local reply: no upstream head, no body transform
      edit.status = status;
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
    this.transformEnding = false;
    if (this.router !== null) this.router.abandon();
    this.complete();
  }

  /** Ends the request once: filters and router released, recorded, the connection told. */
  complete(): void {
    if (this.finished) return;
    // The router's end of a transformed response: the transform's flush ends it (onTransformedEnd).
    if (this.transformEnding) return;
    this.finished = true;
    if (this.filters !== null) this.filters.destroy();
    if (this.router !== null) this.router.destroy();
    if (this.headKept) this.releaseHead();
    recordRequest(this);
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

defineRareFields(ActiveRequest.prototype, REQUEST_RARE_DEFAULTS);
