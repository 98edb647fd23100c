// One HTTP/2 stream as the connection an ActiveRequest runs on: the stream's
// request arrives as an HTTP/1.1 head (the native session builds it in C++,
// node-h2-stream.ts from node:http2's headers) parsed by the same native
// parser, its DATA frames the body (chunked when no content-length), and the
// HTTP/1.1 response the request writes back is read into HTTP/2 HEADERS,
// DATA and trailers (h1-response-reader.ts). Routing, filters, the router,
// retries, stats and the access log are the HTTP/1.1 path's own.
import type { ConnectionSecurity } from '../../src/stats/worker-stats-snapshot.js';
import { CHUNKED, FLAG, HEAD, parseRequestHead, type TlsCertificateInfo } from '../../src/native.js';
import { ActiveRequest } from '../active-request.js';
import type { DownstreamConnection } from '../downstream-connection.js';
import { encodeBodyPiece } from '../message-heads.js';
import { headOut, parseLimits } from '../parse-scratch.js';
import { LAST_CHUNK } from '../request-body-reader.js';
import type { WorkerContext } from '../worker-context.js';
import { H1ResponseReader, type H2ResponseSink } from './h1-response-reader.js';
import type { H2SessionSide, H2StreamBackend } from './h2-stream-backend.js';
import { flushWatch, type FlushWaiter } from './h2-flush-watch.js';

/** What chunkState hands every request: never decoded into (RequestBodyReader reads no stream's chunked body). */
const UNUSED_CHUNK_STATE = new Float64Array(CHUNKED.STATE_SIZE);
const NGHTTP2_NO_ERROR = 0;
const NGHTTP2_INTERNAL_ERROR = 2;
const NGHTTP2_CANCEL = 8;
/** Envoy's default stream_idle_timeout, for a stream whose request never reached a chain. */
const DEFAULT_FLUSH_TIMEOUT_MS = 300_000;

export class H2StreamConnection implements H2ResponseSink, FlushWaiter {
  /** Reads back what the request writes as HTTP/1.1; made on the first such write (responses in parts need none). */
  private reader: H1ResponseReader | null = null;
  private request: ActiveRequest | null = null;
  private chunkedBody = false;
  private ended = false;
  private responded = false;
  backend: H2StreamBackend | null = null;
  /** Response trailers to send with the end (set by the h2 upstream through the request). */
  trailers: Record<string, string> | null = null;
  /** The response comes from an HTTP/2 upstream: trailers may follow its body. */
  mayTrail = false;
  /** FlushWaiter: since when the response waits on the client; the HCM's stream_idle_timeout (0 = never reset). */
  flushSince = 0;
  flushTimeoutMs = DEFAULT_FLUSH_TIMEOUT_MS;
  /** FlushWaiter: the watch's links (flushPrev is the stream itself while it does not wait). */
  flushPrev: FlushWaiter | null = this;
  flushNext: FlushWaiter | null = null;
  /**
   * The request's response comes in parts (head, body pieces, end: ActiveRequest.startH2Parts), not as HTTP/1.1
   * bytes the reader parses back; with it, whether the response has no body and the head's content-length (-1:
   * none). Kept here, on the per-stream object, so that an HTTP/2 request sets no rare field of its ActiveRequest.
   */
  parts = false;
  partsNoBody = false;
  partsLength = -1;
  /** A response handed over in parts: its content-length still to come (-1: none). */
  private partsRemaining = -1;

  /** As its requests' connection: they are on this HTTP/2 stream (ActiveRequest.http2Stream). */
  get http2Stream(): H2StreamConnection {
    return this;
  }

  /** The request is HEAD: the response has no body whatever its head says. */
  readonly headRequest: boolean;

  constructor(
    private readonly session: H2SessionSide,
    method: string,
    /** The client asked for trailers (te: trailers): gRPC. */
    readonly wantsTrailers: boolean,
    readonly grpc: boolean,
  ) {
    this.headRequest = method === 'HEAD';
  }

  // ---- what ActiveRequest asks of its connection ----

  /** The request body's chunked decoder state: none is decoded (onData delivers a chunked body's DATA frames as chunks). */
  get chunkState(): Float64Array {
    return UNUSED_CHUNK_STATE;
  }

  get worker(): WorkerContext {
    return this.session.worker;
  }

  get remoteAddress(): string {
    return this.session.remoteAddress;
  }

  get chainIndex(): number {
    return this.session.conn.chainIndex;
  }

  get draining(): boolean {
    return this.session.worker.draining;
  }

  get accessLogEnabled(): boolean {
    return this.session.worker.accessLog.enabled;
  }

  get peerUriSan(): string {
    return this.session.conn.peerUriSan;
  }

  /** The connection's TLS facts, for the RBAC filter's principals. */
  get peerCertificate(): TlsCertificateInfo | null {
    return this.session.conn.peerCertificate;
  }

  /** The connection's TLS version ('' in plaintext): the request's :scheme (http for h2c) and the access log read it. */
  get tlsVersion(): string {
    return this.session.conn.tlsVersion;
  }

  get requestedServerName(): string {
    return this.session.conn.requestedServerName;
  }

  /** The connection's mTLS labels for istio_* metrics (source_principal, connection_security_policy), as for HTTP/1.1. */
  get security(): ConnectionSecurity | null {
    return this.session.conn.security;
  }

  write(data: Buffer | string): boolean {
    if (this.ended) return true;
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return (this.reader ??= new H1ResponseReader(this, this.headRequest)).write(buf, typeof data === 'string');
  }

  pauseReading(): void {
    this.backend?.pause();
  }

  resumeReading(): void {
    const b = this.backend;
    if (b !== null && !b.destroyed) b.resume();
  }

  /** The response was cut mid-way: reset the stream. */
  destroy(): void {
    this.reset(NGHTTP2_INTERNAL_ERROR);
  }

  onRequestDone(_req: ActiveRequest, _close: boolean): void {
    this.request = null;
    const b = this.backend;
    if (!this.ended) {
      // Finished without a whole response (cannot happen for one the reader read through): reset.
      this.reset(NGHTTP2_INTERNAL_ERROR);
    } else if (b !== null && !b.destroyed && b.requestOpen) {
      // Answered before the request body finished: stop it (RFC 9113 8.1, NO_ERROR).
      b.close(NGHTTP2_NO_ERROR);
    }
  }

  // ---- the request ----

  /** The request head as HTTP/1.1 (a buffer this request keeps); parsed: headOut holds its parse already (the addon's). */
  startHead(buf: Buffer, parsed = false): void {
    const n = parsed ? buf.length : parseRequestHead(buf, 0, buf.length, headOut, parseLimits.maxHeadBytes, parseLimits.maxHeaders);
    if (n <= 0) {
      this.refuse(n === 0 ? 431 : 400);
      return;
    }
    this.chunkedBody = (headOut[HEAD.FLAGS]! & FLAG.CHUNKED) !== 0;
    const req = new ActiveRequest(this as unknown as DownstreamConnection, this.worker.snapshot, this.session.listenerName);
    this.request = req;
    req.start(buf, n);
    if (req.hcm !== null) this.flushTimeoutMs = req.hcm.streamIdleTimeoutMs;
  }

  /** A request that cannot become an HTTP/1.1 one: answered here. */
  refuse(status: number): void {
    this.ended = true;
    const b = this.backend;
    if (b === null || b.destroyed) return;
    try {
      b.respond({ ':status': status }, true, false);
    } catch {
      b.close(NGHTTP2_INTERNAL_ERROR);
    }
  }

  /** Request body bytes buf[start, end) (valid only during this call). */
  onData(buf: Buffer, start: number, end: number): void {
    const req = this.request;
    if (req === null || !req.receivingBody) return;
    if (this.chunkedBody) {
      // A DATA frame is one chunk, delivered as the request's chunked reader would deliver it once decoded (framed for
      // upstream), without writing the chunk and decoding it back first. An empty frame is no chunk: as a chunk it
      // would have read as the last one.
      if (end > start) req.deliver(encodeBodyPiece(null, true, buf, start, end));
    } else {
      req.onDownstreamBody(buf, start, end);
    }
  }

  /** The request's trailers, just before onEnd (a body with a content-length cannot carry them to HTTP/1.1: dropped). */
  onRequestTrailers(fields: Record<string, string>): void {
    const req = this.request;
    if (req !== null && req.receivingBody && this.chunkedBody) req.requestTrailers = fields;
  }

  onEnd(): void {
    const req = this.request;
    if (req === null || !req.receivingBody) return;
    if (this.chunkedBody) {
      // The last chunk as the chunked reader delivers it (the same constant: ActiveRequest adds the stream's trailers to it).
      req.deliver(LAST_CHUNK);
      req.bodyComplete();
    } else req.downstreamProtocolError(); // content-length promised more than the stream carried
  }

  onDrain(): void {
    // Progress: a stream still flushing its ended response waits afresh.
    flushWatch.delete(this);
    if (this.ended) flushWatch.add(this);
    if (this.request !== null) this.request.onDownstreamWritable();
  }

  onClose(): void {
    const req = this.request;
    flushWatch.delete(this);
    if (!this.ended) this.session.streamResetEarly();
    this.ended = true;
    this.request = null;
    if (req !== null && !req.finished) req.onDownstreamClosed();
  }

  private reset(code: number): void {
    this.ended = true;
    const b = this.backend;
    if (b !== null && !b.destroyed) b.close(code);
  }

  // ---- the upstream's response handed over in parts (ActiveRequest's h2 hook), not as HTTP/1.1 bytes read back ----

  /**
   * The response may come in parts (directHead, directData, directEnd): the stream takes a head as bytes (the
   * native session) and nothing went through the reader yet. Saves the reader's parse of the head and, for a body
   * without a content-length (gRPC), the chunked framing written and decoded again, with their copies.
   */
  get takesParts(): boolean {
    const b = this.backend;
    return b !== null && b.respondHead !== undefined && b.writeRange !== undefined && (this.reader === null || !this.reader.headSeen) && !this.ended;
  }

  /**
   * The response head (a whole HTTP/1.1 head the request made, status >= 200); noBody: the stream ends with it;
   * length: its content-length (-1: none), held to as the reader did: bytes past it dropped, a shorter body reset.
   */
  directHead(head: Buffer, status: number, noBody: boolean, length: number): void {
    if (this.ended) return;
    this.partsRemaining = length;
    this.h2HeadBytes(head, 0, head.length, status, noBody);
  }

  /** Body bytes buf[start, end) (copied before this returns); false: the client's window is full. */
  directData(buf: Buffer, start: number, end: number): boolean {
    if (this.ended) return true;
    const b = this.backend;
    if (b === null || b.destroyed) return true;
    if (this.partsRemaining >= 0) {
      if (end - start > this.partsRemaining) end = start + this.partsRemaining;
      this.partsRemaining -= end - start;
      if (end === start) return true;
    }
    if (b.writeRange!(buf, start, end)) return true;
    flushWatch.add(this); // as h2Data: the stall timer runs until it drains
    return false;
  }

  /** The response is complete: the head if still held (as directHead), then the end (with any trailers). */
  directEnd(head: Buffer | null, status: number, noBody: boolean, length: number): void {
    if (head !== null) this.directHead(head, status, noBody, length);
    // Short of its content-length: the reader never ended such a stream (reset once the request finished).
    if (this.partsRemaining > 0) this.reset(NGHTTP2_INTERNAL_ERROR);
    else this.h2End();
  }

  // ---- H2ResponseSink: the response, as HTTP/2 ----

  h2Head(headers: Record<string, string | string[] | number>, noBody: boolean): void {
    const b = this.backend;
    if (b === null || b.destroyed) return;
    this.responded = true;
    if (noBody) this.ended = true;
    try {
      // Trailers may follow the body (an HTTP/2 upstream's, gRPC's status): the stream ends with them.
      b.respond(headers, noBody, !noBody && (this.mayTrail || this.grpc));
    } catch {
      // A header HTTP/2 cannot carry: the stream is reset rather than the proxy failing.
      this.reset(NGHTTP2_INTERNAL_ERROR);
    }
  }

  h2HeadBytes(buf: Buffer, start: number, end: number, status: number, noBody: boolean): boolean {
    const b = this.backend;
    if (b === null || b.destroyed) return true;
    if (b.respondHead === undefined) return false;
    this.responded = true;
    if (noBody) this.ended = true;
    try {
      b.respondHead(buf, start, end, status, noBody);
    } catch {
      // A head HTTP/2 cannot carry: the stream is reset rather than the proxy failing.
      this.reset(NGHTTP2_INTERNAL_ERROR);
    }
    return true;
  }

  h2Data(data: Buffer): boolean {
    const b = this.backend;
    if (b === null || b.destroyed) return true;
    if (b.write(data)) return true;
    flushWatch.add(this); // the client's window (or socket) is full: the stall timer runs until it drains
    return false;
  }

  h2End(): void {
    if (this.ended) return;
    this.ended = true;
    const b = this.backend;
    if (b !== null && !b.destroyed) {
      b.end(this.trailers);
      // Until the stream closes, what is queued waits on the client: a client that never opens its window is timed out.
      if (!b.destroyed) flushWatch.add(this);
    }
  }

  /** FlushWaiter: the response waited on the client past stream_idle_timeout (counted by the watch). */
  flushTimedOut(): void {
    this.reset(NGHTTP2_CANCEL);
  }

  h2Broken(): void {
    this.reset(NGHTTP2_INTERNAL_ERROR);
  }

  get responseStarted(): boolean {
    return this.responded;
  }
}
