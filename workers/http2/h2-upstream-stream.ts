// One request on an upstream HTTP/2 session, as the attempt the router holds
// (UpstreamAttempt): the HTTP/1.1 request the router writes (head, then the
// body framed by content-length or chunked) becomes HEADERS and DATA; the
// response comes back to the router as an HTTP/1.1 head parsed by the native
// parser, body pieces and, for trailers, the router's onUpstreamTrailers.
// A stream the upstream refused unprocessed (REFUSED_STREAM, or past a
// GOAWAY's last stream id) is sent again on another session, as Envoy does.
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { H2 as h2 } from '../../src/node-http2.js';
import { HEAD, parseResponseHead } from '../../src/native.js';
import { headOut, parseLimits } from '../parse-scratch.js';
import { BodyMode, UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from '../upstream-connection.js';
import type { H2UpstreamPool } from './h2-upstream-pool.js';
import type { H2UpstreamSession } from './h2-upstream-session.js';
import { allowedTrailers, mayBeTrailer } from './h1-trailer-block.js';
import { H2UpstreamAttempt, failProtocol } from './h2-upstream-attempt.js';
import { readRouterHead, routerHead, routerHeadShape } from './router-request-head.js';
import { reasonPhrase } from '../local-reply.js';

const END_STREAM = 0x1;

export interface UpstreamTrailerSink {
  upstreamMayTrail?(): void;
  onUpstreamTrailers?(trailers: Record<string, string>): void;
}

export class H2UpstreamStream extends H2UpstreamAttempt<H2UpstreamSession> implements UpstreamAttempt {
  private h2stream: ClientHttp2Stream | null = null;
  private headers: OutgoingHttpHeaders | null = null;
  /** Response body that arrived before its head was handled (see onData). */
  private early: Buffer[] | null = null;

  constructor(
    protected override readonly pool: H2UpstreamPool,
    stream: UpstreamStream & UpstreamTrailerSink,
  ) {
    super(pool, stream);
  }

  protected get headRead(): boolean {
    return this.headers !== null;
  }

  protected startRequest(): void {
    this.open();
  }

  /** A session has room: open the stream (the router writes the request next). */
  bind(session: H2UpstreamSession): void {
    this.session = session;
    session.streamStarted();
    if (this.headers !== null) this.open(); // a resend
    else this.stream.onUpstreamReady(this as unknown as UpstreamConnection);
  }

  protected send(buf: Buffer): boolean {
    this.keepForResend(buf);
    const s = this.h2stream;
    if (s === null && this.sent === null) {
      // Waiting to be sent again, and the body outgrew what is kept for that: it cannot go whole.
      this.fail(UpstreamFailure.RESET);
      return true;
    }
    return s === null || s.destroyed ? true : s.write(buf);
  }

  /** The HTTP/1.1 head the router made, as HTTP/2 headers; returns its length (<= 0: not a head). */
  protected readHead(buf: Buffer): number {
    const n = readRouterHead(buf);
    if (n <= 0) return n;
    const h = routerHead;
    // No prototype: a peer's header named constructor or __proto__ must not meet Object.prototype's members.
    const headers: OutgoingHttpHeaders = Object.create(null) as OutgoingHttpHeaders;
    headers[':method'] = h.method;
    headers[':path'] = h.target;
    headers[':scheme'] = this.stream.upstreamScheme?.(this.pool.endpoint.tls !== null) ?? 'http';
    if (h.authority !== null) headers[':authority'] = h.authority;
    const fields = h.fields;
    for (let i = 0; i < h.fieldCount; i += 2) {
      const name = fields[i]!;
      const value = fields[i + 1]!;
      const prev = headers[name];
      if (prev === undefined) headers[name] = value;
      else if (Array.isArray(prev)) prev.push(value);
      else headers[name] = [String(prev), value];
    }
    if (h.grpc) headers['te'] = 'trailers';
    const shape = routerHeadShape;
    this.headRequest = shape.headMethod;
    this.chunked = shape.chunked;
    // No body (no chunked framing, no or a zero content-length): HEADERS carries END_STREAM, no empty DATA frame follows.
    this.bodyless = shape.bodyless;
    this.resetChunkState();
    this.headers = headers;
    return n;
  }

  private open(): void {
    const session = this.session!;
    let s: ClientHttp2Stream;
    try {
      s = session.session.request(this.headers!, { endStream: this.bodyless, waitForTrailers: this.mayTrail() });
    } catch {
      // A header HTTP/2 cannot carry (node:http2 refuses it), or the session closed under us.
      process.nextTick(failProtocol, this);
      return;
    }
    this.h2stream = s;
    s.on('response', this.onResponse.bind(this));
    s.on('data', this.onData.bind(this));
    s.on('trailers', this.onTrailers.bind(this));
    s.on('end', this.onEnd.bind(this));
    s.on('close', this.onClose.bind(this));
    s.on('drain', this.onDrain.bind(this));
    s.on('wantTrailers', this.onWantTrailers.bind(this));
    s.on('error', noop);
    if (this.bodyless) return;
    if (this.sent !== null && this.sent.length > 0) for (const b of this.sent) s.write(b);
    if (this.ended) s.end();
  }

  /**
   * A chunked request body (an HTTP/2 client's, or an HTTP/1.1 client's with a trailer section) may end with
   * trailers: the stream then waits for them (no trailers: node:http2 ends it with an empty DATA frame). A body
   * already ended without them needs no wait.
   */
  private mayTrail(): boolean {
    if (this.bodyless || !this.chunked) return false;
    return !this.ended || (this.stream.requestTrailers?.() ?? null) !== null;
  }

  /** The request body went out: its trailers follow ({}: none). */
  private onWantTrailers(): void {
    const s = this.h2stream;
    if (s === null || s.destroyed) return;
    const t = this.stream.requestTrailers?.() ?? null;
    s.sendTrailers(t === null ? {} : allowedTrailers(t));
  }

  endRequest(): void {
    this.ended = true;
    if (this.bodyless) return;
    const s = this.h2stream;
    if (s !== null && !s.destroyed) s.end();
  }

  pause(): void {
    this.h2stream?.pause();
  }

  resume(): void {
    this.h2stream?.resume();
  }

  /** The router gives up on this attempt (timeout, client gone, retry): reset the stream. */
  abandon(): void {
    if (this.done) return;
    if (this.session === null && this.pool.cancelWaiting(this)) {
      this.done = true;
      this.pool.endpoint.cluster.releaseRequest();
      return;
    }
    this.finishBooks();
    const s = this.h2stream;
    if (s !== null && !s.destroyed) s.close(h2.NGHTTP2_CANCEL);
  }

  private onResponse(headers: IncomingHttpHeaders, flags: number): void {
    if (this.done) return;
    const status = Number(headers[':status']);
    if (status < 200) return;
    this.responded = true;
    this.sent = null;
    const endStream = (flags & END_STREAM) !== 0;
    let head = 'HTTP/1.1 ' + status + ' ' + reasonPhrase(status) + '\r\n';
    let hasLength = false;
    for (const name in headers) {
      if (name.charCodeAt(0) === 58) continue;
      const v = headers[name];
      if (name === 'content-length') hasLength = true;
      if (Array.isArray(v)) for (const x of v) head += name + ': ' + x + '\r\n';
      else if (v !== undefined) head += name + ': ' + v + '\r\n';
    }
    let bodyMode: number;
    if (endStream || this.headRequest || status === 204 || status === 304) bodyMode = BodyMode.NONE;
    else if (hasLength) bodyMode = BodyMode.LENGTH;
    else {
      head += 'transfer-encoding: chunked\r\n';
      bodyMode = BodyMode.CHUNKED;
    }
    const buf = Buffer.from(head + '\r\n', 'latin1');
    const n = parseResponseHead(buf, 0, buf.length, headOut, parseLimits.maxHeadBytes * 2, parseLimits.maxHeaders);
    if (n <= 0) {
      this.pool.endpoint.counters.cxProtocolError++;
      this.fail(UpstreamFailure.PROTOCOL);
      return;
    }
    if (bodyMode === BodyMode.LENGTH && (headOut[HEAD.CONTENT_LENGTH_HI]! | headOut[HEAD.CONTENT_LENGTH_LO]!) === 0) bodyMode = BodyMode.NONE;
    this.pool.endpoint.health.recordStatus(status);
    if (!endStream && this.stream.upstreamMayTrail !== undefined) this.stream.upstreamMayTrail();
    this.stream.onUpstreamResponseHead(this as unknown as UpstreamConnection, buf, 0, n, bodyMode);
    if (this.done) return; // the router retried on this status
    if (bodyMode === BodyMode.NONE) this.complete();
    else if (this.early !== null) {
      const early = this.early;
      this.early = null;
      for (const chunk of early) this.onData(chunk);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    if (!this.responded) {
      // On a session over a JS duplex (TLS, h2-upstream-tls.ts) DATA read with its HEADERS comes before the
      // 'response' event (node:http2 emits that on nextTick): held for it, bounded by the stream's window.
      (this.early ??= []).push(chunk);
      return;
    }
    this.responseBytes += chunk.length;
    this.stream.onUpstreamBody(chunk, 0, chunk.length);
    if (!this.done) this.stream.onUpstreamReadEnd();
  }

  private onTrailers(trailers: IncomingHttpHeaders): void {
    // No prototype: a peer's trailer named __proto__ or constructor is a trailer like any other.
    const t = Object.create(null) as Record<string, string>;
    for (const name in trailers) {
      const v = trailers[name];
      // Pseudo-headers, and fields that may not be trailers (RFC 9110 6.5.1), are dropped for every client.
      if (name.charCodeAt(0) !== 58 && v !== undefined && mayBeTrailer(name)) t[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    this.trailers = t;
  }

  private onEnd(): void {
    if (!this.done && this.responded) this.complete();
  }

  private onDrain(): void {
    if (!this.done) this.stream.onUpstreamWritable();
  }

  private onClose(): void {
    if (this.done) return;
    const s = this.h2stream!;
    const session = this.session;
    const refused = !this.responded && this.responseBytes === 0 && session !== null && (s.rstCode === h2.NGHTTP2_REFUSED_STREAM
      || (session.goawayLastStreamId >= 0 && s.id !== undefined && s.id > session.goawayLastStreamId));
    if (refused && this.sent !== null && !this.resent) {
      // Never processed by the upstream: send it again on another session (Envoy does, whatever the method).
      this.resent = true;
      this.session = null;
      this.h2stream = null;
      session.streamDone();
      this.pool.requeue(this);
      return;
    }
    const wasConnected = this.session?.connected ?? false;
    this.fail(wasConnected ? UpstreamFailure.RESET : UpstreamFailure.CONNECT);
  }

  protected fail(failure: number): void {
    if (this.done) return;
    this.finishBooks();
    const s = this.h2stream;
    if (s !== null && !s.destroyed) s.close(h2.NGHTTP2_CANCEL);
    this.pool.endpoint.health.recordLocalFailure();
    this.stream.onUpstreamFailure(failure);
  }
}

function noop(): void {}
