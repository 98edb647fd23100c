// One request on a native upstream HTTP/2 session (native-h2-upstream-session.ts),
// as the attempt the router holds: the HTTP/1.1 request the router writes
// becomes a header block for nghttp2 and body bytes; the response comes back
// already as an HTTP/1.1 head (built in C++), body pieces straight from the
// read buffer, and trailers. A stream the upstream refused unprocessed
// (REFUSED_STREAM, or past a GOAWAY's last stream id) is sent again on another
// session, as Envoy does. Same contract as H2UpstreamStream (node:http2).
import { H2_EVENT as EV, HEAD, h2cEnd, h2cRequestHead, h2cReset, h2cSetReading, h2cWrite, parseResponseHead } from '../../src/native.js';
import { headOut, parseLimits } from '../parse-scratch.js';
import { BodyMode, UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from '../upstream-connection.js';
import { h2EventBuffers } from './native-h2-session.js';
import type { NativeH2UpstreamSession } from './native-h2-upstream-session.js';
import type { UpstreamTrailerSink } from './h2-upstream-stream.js';
import { H2UpstreamAttempt, failProtocol } from './h2-upstream-attempt.js';
import { copyArenaParse } from './h2-arena-head.js';
import { readRouterHeadShape, routerHeadShape } from './router-request-head.js';
import { HEAD_SHAPE } from './router-head-shape.js';
import { TRAILER_BLOCK, allowedTrailers, mayBeTrailer } from './h1-trailer-block.js';

const NGHTTP2_CANCEL = 8;
/** A client's last stream id (ids are odd, up to 2^31-1): past it nghttp2 opens no stream on the connection. */
const LAST_STREAM_ID = 0x7fffffff;
/** The addon's event arena (response heads, trailers, copied DATA), set once the first session exists. */
let arenaBuf: Buffer | null = null;

function arena(): Buffer {
  return arenaBuf ??= h2EventBuffers().arena;
}

/** Where a native stream's placement comes from (the pool). */
export interface NativeH2StreamPool {
  readonly endpoint: { readonly tls: unknown; readonly counters: { cxProtocolError: number }; readonly health: { recordStatus(s: number): void; recordLocalFailure(): void }; readonly cluster: { releaseRequest(): void } };
  requeue(attempt: NativeH2UpstreamStream): void;
  cancelWaiting(attempt: NativeH2UpstreamStream): boolean;
}

export class NativeH2UpstreamStream extends H2UpstreamAttempt<NativeH2UpstreamSession> implements UpstreamAttempt {
  /** The addon's session handle and stream id once on the wire. */
  private handle = -1;
  private id = -1;
  /** The session the stream is on the wire on, until its CLOSE record: `session` is cleared when the response ends, before that. */
  private wire: NativeH2UpstreamSession | null = null;
  /** The router's HTTP/1.1 request head, kept for a resend: C++ reads it into the HTTP/2 header list (h2cRequestHead). */
  private head: Buffer | null = null;
  private scheme = 'http';

  constructor(
    protected override readonly pool: NativeH2StreamPool,
    stream: UpstreamStream & UpstreamTrailerSink,
  ) {
    super(pool, stream);
  }

  protected get headRead(): boolean {
    return this.head !== null;
  }

  protected startRequest(): void {
    this.session!.submit(this);
  }

  /** A session has room: take a slot (the router writes the request next, or a resend goes out). */
  bind(session: NativeH2UpstreamSession): void {
    this.session = session;
    session.streamStarted();
    if (this.head !== null) session.submit(this); // a resend
    else this.stream.onUpstreamReady(this as unknown as UpstreamConnection);
  }

  protected send(buf: Buffer): boolean {
    this.keepForResend(buf);
    if (this.id < 0) {
      if (this.sent === null) {
        // Not on the wire yet and past what is kept for it: it cannot go whole.
        if (this.session === null) this.fail(UpstreamFailure.RESET);
        else this.pendingBytesLost();
      }
      return true;
    }
    return h2cWrite(this.handle, this.id, buf) !== 0;
  }

  /** Body outgrew the resend copy before the connection was up: keep it queued in order anyway. */
  private pendingBytesLost(): void {
    this.fail(UpstreamFailure.RESET);
  }

  /** The HTTP/1.1 head the router made, kept as it is (C++ makes the header list from it); returns its length (<= 0: not a head). */
  protected readHead(buf: Buffer): number {
    // The router's own head, as it made it: its shape is known, no second parse (C++ reads the fields once).
    const known = this.stream.upstreamHeadShape?.(buf) ?? -1;
    const n = known >= 0 ? buf.length : readRouterHeadShape(buf);
    if (n <= 0) return n;
    this.scheme = this.stream.upstreamScheme?.(this.pool.endpoint.tls !== null) ?? 'http';
    this.head = n === buf.length ? buf : buf.subarray(0, n);
    if (known >= 0) {
      this.headRequest = (known & HEAD_SHAPE.HEAD_METHOD) !== 0;
      this.chunked = (known & HEAD_SHAPE.CHUNKED) !== 0;
      this.bodyless = (known & HEAD_SHAPE.BODYLESS) !== 0;
    } else {
      const h = routerHeadShape;
      this.headRequest = h.headMethod;
      this.chunked = h.chunked;
      this.bodyless = h.bodyless;
    }
    this.resetChunkState();
    return n;
  }

  /** The session is up: the stream goes on the wire with what the router wrote so far. */
  open(handle: number): void {
    if (this.done || this.session === null) return;
    const id = h2cRequestHead(handle, this.head!, this.scheme, this.bodyless, this.headRequest);
    if (id < 0) {
      if (!this.resent && this.session.gone) {
        // The session went away (GOAWAY) before this stream went out: another connection takes it.
        this.resent = true;
        this.moveToAnotherSession();
        return;
      }
      // A header block nghttp2 refused: the request fails. (Spent ids retire the session first: streamIdsSpent.)
      process.nextTick(failProtocol, this);
      return;
    }
    this.handle = handle;
    this.id = id;
    this.wire = this.session;
    this.session.track(id, this);
    // Its last stream: the session takes no more (streams already bound to it move on, as after a GOAWAY). Kept
    // open, every later request would fail there until the upstream closed the connection: after 2^30 requests,
    // a day or so of a busy sidecar's one connection.
    if (id === LAST_STREAM_ID) this.session.streamIdsSpent();
    if (this.bodyless) return;
    if (this.sent !== null) for (const b of this.sent) h2cWrite(handle, id, b);
    if (this.ended) h2cEnd(handle, id, this.trailerBlock());
  }

  endRequest(): void {
    this.ended = true;
    if (this.bodyless || this.id < 0 || this.done) return;
    h2cEnd(this.handle, this.id, this.trailerBlock());
  }

  /** The client's request trailers (an HTTP/2 client's, known by the time its body ends) as a header block, if any. */
  private trailerBlock(): string | undefined {
    const t = this.stream.requestTrailers?.() ?? null;
    if (t === null) return undefined;
    const allowed = allowedTrailers(t);
    let block = '';
    for (const name in allowed) block += name + '\0' + allowed[name] + '\0';
    return block === '' ? undefined : block;
  }

  pause(): void {
    if (this.id >= 0 && !this.done) h2cSetReading(this.handle, this.id, false);
  }

  resume(): void {
    if (this.id >= 0 && !this.done) h2cSetReading(this.handle, this.id, true);
  }

  /** The router gives up on this attempt (timeout, client gone, retry): reset the stream. */
  abandon(): void {
    if (this.done) return;
    if (this.session === null && this.pool.cancelWaiting(this)) {
      this.done = true;
      this.pool.endpoint.cluster.releaseRequest();
      return;
    }
    this.cancelOnWire();
    this.finishBooks();
  }

  /** A record for this stream from the addon. */
  onEvent(kind: number, code: number, a: number, b: number, input: Buffer): void {
    if (kind === EV.DATA) this.onData(input, a, a + b);
    else if (kind === EV.RESPONSE) this.onResponse(code, a, b);
    else if (kind === EV.DATA_ARENA) this.onData(arena(), a, a + b);
    else if (kind === EV.TRAILERS) this.onTrailers(a, b);
    else if (kind === EV.END) this.complete();
    else if (kind === EV.DRAIN) {
      if (!this.done) this.stream.onUpstreamWritable();
    } else if (kind === EV.CLOSE) this.onClose(b === 1);
  }

  private onResponse(code: number, offset: number, length: number): void {
    if (this.done) return;
    const status = code >>> EV.RESP_STATUS_SHIFT;
    this.responded = true;
    this.sent = null;
    const endStream = (code & EV.RESP_END_STREAM) !== 0;
    const head = arena();
    // Parsed by the addon already (RESP_PARSED) unless past this worker's limits: then here, for the same refusal.
    const maxBytes = parseLimits.maxHeadBytes * 2;
    const n = (code & EV.RESP_PARSED) !== 0 && copyArenaParse(offset, length, maxBytes) ? length
      : parseResponseHead(head, offset, offset + length, headOut, maxBytes, parseLimits.maxHeaders);
    if (n <= 0) {
      this.pool.endpoint.counters.cxProtocolError++;
      this.fail(UpstreamFailure.PROTOCOL);
      return;
    }
    let bodyMode: number;
    if (endStream || this.headRequest || status === 204 || status === 304) bodyMode = BodyMode.NONE;
    else if ((code & EV.RESP_HAS_LENGTH) !== 0) bodyMode = BodyMode.LENGTH;
    else bodyMode = BodyMode.CHUNKED;
    if (bodyMode === BodyMode.LENGTH && (headOut[HEAD.CONTENT_LENGTH_HI]! | headOut[HEAD.CONTENT_LENGTH_LO]!) === 0) bodyMode = BodyMode.NONE;
    this.pool.endpoint.health.recordStatus(status);
    if (!endStream && this.stream.upstreamMayTrail !== undefined) this.stream.upstreamMayTrail();
    this.stream.onUpstreamResponseHead(this as unknown as UpstreamConnection, head, offset, n, bodyMode);
    if (this.done) return; // the router retried on this status
    if (bodyMode === BodyMode.NONE) this.complete();
  }

  private onData(buf: Buffer, start: number, end: number): void {
    if (this.done || !this.responded) return;
    this.responseBytes += end - start;
    this.stream.onUpstreamBody(buf, start, end);
    if (!this.done) this.stream.onUpstreamReadEnd();
  }

  private onTrailers(offset: number, length: number): void {
    // "name\0value\0..." as C++ wrote it.
    const block = arena().latin1Slice(offset, offset + length);
    // No prototype: a peer's trailer named __proto__ or constructor is a trailer like any other.
    const t = Object.create(null) as Record<string, string> & { [TRAILER_BLOCK]?: string };
    let changed = false;
    let at = 0;
    for (;;) {
      const nameEnd = block.indexOf('\0', at);
      if (nameEnd < 0) break;
      const valueEnd = block.indexOf('\0', nameEnd + 1);
      if (valueEnd < 0) break;
      const name = block.slice(at, nameEnd);
      const value = block.slice(nameEnd + 1, valueEnd);
      at = valueEnd + 1;
      // Fields that frame, route or authenticate a message may not be trailers (RFC 9110 6.5.1): dropped, for every client.
      if (!mayBeTrailer(name)) {
        changed = true;
        continue;
      }
      const prev = t[name];
      if (prev === undefined) t[name] = value;
      else {
        t[name] = prev + ', ' + value;
        changed = true;
      }
    }
    // The block as it came, for an HTTP/2 client's end (the same fields in the same form unless one was merged or dropped).
    if (!changed) t[TRAILER_BLOCK] = block;
    this.trailers = t;
  }

  private onClose(unprocessed: boolean): void {
    // Untracked through `wire`: a stream that completed has no `session` any more, and kept in the session's map it
    // held its request (router, downstream stream, buffers) until the connection closed.
    if (this.wire !== null && this.id >= 0) this.wire.untrack(this.id);
    this.wire = null;
    const session = this.session;
    this.id = -1;
    if (this.done) return;
    if (unprocessed && !this.responded && this.responseBytes === 0 && this.sent !== null && !this.resent && session !== null) {
      // Never processed by the upstream: send it again on another session (Envoy does, whatever the method).
      this.resent = true;
      this.session = null;
      session.streamDone();
      this.pool.requeue(this);
      return;
    }
    this.fail(UpstreamFailure.RESET);
  }

  /** Bound to a session that turned out to allow fewer streams, and not sent yet: placed again by the pool. */
  moveToAnotherSession(): void {
    const session = this.session;
    if (session === null || this.done) return;
    this.session = null;
    session.streamDone();
    this.pool.requeue(this);
  }

  /** The connection closed under the stream (never connected: a connect failure). */
  onSessionClosed(wasConnected: boolean): void {
    this.id = -1;
    this.wire = null;
    if (this.done) return;
    this.fail(wasConnected ? UpstreamFailure.RESET : UpstreamFailure.CONNECT);
  }

  protected fail(failure: number): void {
    if (this.done) return;
    this.cancelOnWire();
    this.finishBooks();
    this.pool.endpoint.health.recordLocalFailure();
    this.stream.onUpstreamFailure(failure);
  }

  private cancelOnWire(): void {
    const session = this.session;
    if (session === null) return;
    if (this.id >= 0 && !session.closed) h2cReset(this.handle, this.id, NGHTTP2_CANCEL);
    else if (this.id < 0) session.forget(this);
  }
}
