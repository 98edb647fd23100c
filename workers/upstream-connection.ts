// The client side of HTTP/1.1 to one upstream endpoint: connects, frames the
// response (content-length, chunked, close-delimited) with the native parser,
// and hands each piece to the stream bound to it. One exchange at a time; the
// endpoint pools it between exchanges.
import { ChunkedTrailerSection, TOO_MANY_TRAILERS, passedTrailerBytes } from './chunked-trailers.js';
import { Buffer } from 'node:buffer';
import { CHUNKED, FLAG, HEAD, decodeChunkedInPlace, parseResponseHead } from '../src/native.js';
import { headOut, parseLimits } from './parse-scratch.js';
import { appendKept, isStartOf, retain } from './shared-read-buffer.js';
import { connectSocket, type SocketOwner, type TransportSocket } from './transport-socket.js';
import { openTls, type TlsLink, type TlsOwner } from './tls-channel.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';
import { timerDelay } from '../src/timer-delay.js';

/** Why an exchange failed before its response completed. */
export const UpstreamFailure = {
  CONNECT: 1, // could not connect (refused, unreachable, connect timeout)
  RESET: 2, // connection closed or reset before the response completed
  PROTOCOL: 3, // the upstream sent something that is not valid HTTP/1.1
  OVERFLOW: 4, // a circuit breaker refused the attempt (503 UO); never retried, as in Envoy
} as const;

/** How the response body is framed. */
export const BodyMode = { NONE: 0, LENGTH: 1, CHUNKED: 2, CLOSE: 3 } as const;

/** The request exchange bound to a connection (ActiveRequest implements it). */
export interface UpstreamStream {
  onUpstreamReady(conn: UpstreamConnection): void;
  /** headOut holds the parsed head (valid only during this call); buf[start, start+length) is the head. */
  onUpstreamResponseHead(conn: UpstreamConnection, buf: Buffer, start: number, length: number, bodyMode: number): void;
  onUpstreamBody(buf: Buffer, start: number, end: number): void;
  onUpstreamResponseEnd(): void;
  /** Every piece of one read has been handed over (lets the stream batch its writes). */
  onUpstreamReadEnd(): void;
  onUpstreamFailure(failure: number): void;
  onUpstreamWritable(): void;
  /** The request came over HTTP/2 (a use_downstream_protocol_config cluster then speaks HTTP/2 upstream too). */
  readonly downstreamHttp2?: boolean;
  /** The :scheme an HTTP/2 upstream request carries (upstreamTls: the upstream connection is TLS); absent: http. */
  upstreamScheme?(upstreamTls: boolean): string;
  /** The response comes from an HTTP/2 upstream: trailers may follow its body. */
  upstreamMayTrail?(): void;
  /** An HTTP/2 client's request trailers, once its body has ended (null: none yet, or none). */
  requestTrailers?(): Record<string, string> | null;
  /** Response trailers (HTTP/2 upstreams), just before onUpstreamResponseEnd. */
  onUpstreamTrailers?(trailers: Record<string, string>): void;
  /**
   * h2 hook: when `buf` is the very head this stream made (not a copy, not joined to body bytes), its shape as
   * HEAD_SHAPE bits (router-head-shape.ts) so an HTTP/2 upstream need not parse it again; -1 otherwise.
   */
  upstreamHeadShape?(buf: Buffer): number;
}

/** What a stream holds while its exchange runs: a connection, or a place in an endpoint's queue (pending-attempt.ts). */
export interface UpstreamAttempt {
  /** This exchange runs on a connection that served earlier ones. */
  readonly reused: boolean;
  /** Bytes of response received in this exchange. */
  readonly responseBytes: number;
  write(data: Buffer | string): boolean;
  endRequest(): void;
  pause(): void;
  resume(): void;
  /** The stream gives up on this exchange. */
  abandon(): void;
}

const PHASE_HEAD = 0;
const PHASE_BODY = 1;

export class UpstreamConnection implements UpstreamAttempt, SocketOwner, TlsOwner {
  private readonly socket: TransportSocket;
  /** TLS origination (the cluster's transport_socket); connected only once its handshake is done. */
  private tls: TlsLink | null = null;
  /** With TLS, connect_timeout covers the handshake too (the transport's own timer stops at the TCP connect). */
  private handshakeTimer: NodeJS.Timeout | null = null;
  private stream: UpstreamStream | null = null;
  private connected = false;
  private closed = false;
  /** A response head not yet whole: a view of pendingStore from its start, or a copy. */
  private pending: Buffer | null = null;
  /** Where a head arriving in pieces grows, doubling (keepPending), so a trickled head costs linear copying. */
  private pendingStore: Buffer | null = null;
  private phase = PHASE_HEAD;
  private bodyMode: number = BodyMode.NONE;
  private remaining = 0;
  private readonly chunkState = new Float64Array(CHUNKED.STATE_SIZE);
  /** The chunked response's trailer section (collected across reads), once one has begun; taken at the body's end. */
  private trailers: ChunkedTrailerSection | null = null;
  private keepAlive = true;
  /** The request's last byte has been written (a connection is reusable only then). */
  private requestDone = false;
  /** Set per exchange by the stream: a HEAD request's response has no body. */
  headRequest = false;
  /** This exchange runs on a connection that served earlier ones (a stale one may fail at once). */
  reused = false;
  /** Bytes of response received in this exchange. */
  responseBytes = 0;
  /** The request that opened this connection counts as pending (max_pending_requests) until it connects. */
  private pendingHeld = true;
  /** Exchanges this connection began; at the cluster's max_requests_per_connection it closes instead of returning to the pool. */
  private exchanges = 0;

  constructor(readonly endpoint: UpstreamEndpoint) {
    const counters = endpoint.counters;
    counters.cxTotal++;
    counters.cxActive++;
    endpoint.cxActive++;
    endpoint.cluster.connectionOpened();
    this.socket = connectSocket(endpoint.address, endpoint.port, this, endpoint.connectTimeoutMs);
    if (endpoint.tls !== null && endpoint.connectTimeoutMs > 0) {
      this.handshakeTimer = setTimeout(onHandshakeTimeout, timerDelay(endpoint.connectTimeoutMs), this);
    }
    // idle_timeout: the transport reports a quiet socket; onSocketTimeout closes it only when no exchange runs.
    this.socket.setTimeout(endpoint.idleTimeoutMs);
  }

  attach(stream: UpstreamStream, reused: boolean): void {
    this.stream = stream;
    this.reused = reused;
    this.exchanges++;
    this.phase = PHASE_HEAD;
    this.requestDone = false;
    this.headRequest = false;
    this.responseBytes = 0;
    if (reused && this.socket.isPaused()) this.socket.resume();
  }

  /** Writes request bytes; false means the socket is full: wait for onUpstreamWritable. */
  write(data: Buffer | string): boolean {
    if (this.tls !== null) return this.tls.write(data);
    return this.socket.write(data);
  }

  /** TCP is up: start the TLS handshake; the exchange starts once it completes (onTlsHandshake). */
  private startTls(): void {
    const tls = this.endpoint.tls!;
    this.tls = openTls(tls.context, this.socket, this, tls.sni);
    this.tls.start();
  }

  onTlsHandshake(): void {
    this.clearHandshakeTimer();
    this.onConnected();
  }

  onTlsPlaintext(buf: Buffer, start: number, end: number): void {
    this.onPlain(buf, start, end);
  }

  /** A refused certificate or broken TLS: before the handshake a connect failure, after it a reset. */
  onTlsFailure(): void {
    if (!this.connected) this.endpoint.counters.tlsHandshakeFailures++;
    this.socket.close();
  }

  /** connect_timeout elapsed before the TLS handshake completed. */
  handshakeTimedOut(): void {
    this.handshakeTimer = null;
    if (!this.connected) this.socket.close();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer !== null) {
      clearTimeout(this.handshakeTimer);
      this.handshakeTimer = null;
    }
  }

  /** The stream wrote the request's last byte. */
  endRequest(): void {
    this.requestDone = true;
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The stream gives up on this exchange (timeout, downstream gone, retry): the connection is not reusable. */
  abandon(): void {
    if (this.stream !== null) {
      this.stream = null;
      this.endpoint.cluster.releaseRequest();
    }
    this.destroy();
  }

  destroy(): void {
    if (!this.closed) this.socket.close();
  }

  onSocketConnect(): void {
    if (this.endpoint.tls !== null) this.startTls();
    else this.onConnected();
  }

  /** The connection carries requests from now on (TCP connected, and the TLS handshake done when there is TLS). */
  private onConnected(): void {
    this.connected = true;
    this.releasePending();
    const stream = this.stream;
    if (stream !== null) stream.onUpstreamReady(this);
  }

  onSocketWritable(): void {
    if (this.stream !== null) this.stream.onUpstreamWritable();
  }

  onSocketTimeout(): void {
    if (this.stream === null) this.socket.close();
  }

  /**
   * Bytes from the socket, valid only during this call (see shared-read-buffer.ts). A response that completes
   * ends this call: the connection goes back to the pool (and may at once carry the next request) only when the
   * response ended exactly at the end of the bytes read; any byte past it means the upstream broke framing (a
   * HEAD or 204/304 answer with a body, a second response), so the connection closes (Envoy: "upstream sent data
   * after end of response", upstream_cx_protocol_error).
   */
  onSocketData(chunk: Buffer, start: number, chunkEnd: number): void {
    if (this.tls !== null) this.tls.receive(chunk, start, chunkEnd);
    else if (this.endpoint.tls === null) this.onPlain(chunk, start, chunkEnd);
  }

  /** Response bytes (from the socket, or decrypted), valid only during this call. */
  private onPlain(chunk: Buffer, start: number, chunkEnd: number): void {
    if (this.stream === null) {
      // Bytes nobody asked for (an idle connection): the framing is lost.
      if (chunkEnd > start) this.protocolError();
      return;
    }
    this.responseBytes += chunkEnd - start;
    let buf = chunk;
    let pos = start;
    let end = chunkEnd;
    if (this.pending !== null) {
      const kept = this.pending.length;
      buf = this.keepPending(chunk, start, chunkEnd);
      pos = 0;
      end = buf.length;
      this.pending = null;
      // A head arriving in pieces is parsed again only once it may be whole (an empty line ends in the new bytes)
      // or is past the limit: a hostile upstream trickling a 60 KiB head a byte per read then costs linear work.
      if (end <= parseLimits.maxHeadBytes && !mayEndHead(buf, kept)) {
        this.pending = buf;
        return;
      }
    }
    while (pos < end) {
      const stream = this.stream;
      if (stream === null) return; // the stream gave up (abandon() destroyed the socket)
      if (this.phase === PHASE_HEAD) {
        const n = parseResponseHead(buf, pos, end, headOut, parseLimits.maxHeadBytes, parseLimits.maxHeaders);
        if (n === 0) {
          this.pending = this.pendingView(buf, pos, end);
          return;
        }
        if (n < 0) {
          this.fail(UpstreamFailure.PROTOCOL);
          return;
        }
        const status = headOut[HEAD.STATUS_CODE]!;
        if (status < 200) {
          if (status === 101) {
            this.fail(UpstreamFailure.PROTOCOL);
            return;
          }
          pos += n; // 100 Continue and other interim responses are not forwarded
          continue;
        }
        this.endpoint.health.recordStatus(status);
        this.startBody(status);
        this.phase = PHASE_BODY;
        // A chunked body may end with a trailer section: an HTTP/2 client's stream then waits for it to end.
        if (this.bodyMode === BodyMode.CHUNKED && stream.upstreamMayTrail !== undefined) stream.upstreamMayTrail();
        stream.onUpstreamResponseHead(this, buf, pos, n, this.bodyMode);
        pos += n;
        if (this.stream === null) return; // the stream gave up on this response (a retry)
        if (this.bodyMode === BodyMode.NONE) {
          this.finish(pos < end);
          return;
        }
        continue;
      }
      if (this.bodyMode === BodyMode.LENGTH) {
        const take = Math.min(this.remaining, end - pos);
        this.remaining -= take;
        stream.onUpstreamBody(buf, pos, pos + take);
        pos += take;
        if (this.remaining === 0) {
          this.finish(pos < end);
          return;
        }
      } else if (this.bodyMode === BodyMode.CHUNKED) {
        if (!this.readChunked(stream, buf, pos, end)) return;
        pos = this.chunkState[CHUNKED.CONSUMED]!;
        if (this.chunkState[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) {
          const trailers = this.trailers?.take() ?? null;
          if (trailers === TOO_MANY_TRAILERS) {
            this.fail(UpstreamFailure.PROTOCOL);
            return;
          }
          if (trailers !== null && stream.onUpstreamTrailers !== undefined) stream.onUpstreamTrailers(trailers);
          this.finish(pos < end);
          return;
        }
      } else {
        stream.onUpstreamBody(buf, pos, end);
        pos = end;
      }
    }
    if (this.stream !== null) this.stream.onUpstreamReadEnd();
  }

  /**
   * Decodes chunked body bytes buf[pos, end) in place (overwriting them: buf is our read buffer) and hands the
   * data of all their chunks on as one range; false when the connection failed or the stream gave up.
   */
  private readChunked(stream: UpstreamStream, buf: Buffer, pos: number, end: number): boolean {
    const state = this.chunkState;
    const n = decodeChunkedInPlace(buf, pos, end, state);
    if (n < 0) {
      this.fail(UpstreamFailure.PROTOCOL);
      return false;
    }
    // The trailer bytes lie past the data the decoder moved (kept before the body piece goes on: buf is reused).
    if ((this.trailers !== null || passedTrailerBytes(state)) && !(this.trailers ??= new ChunkedTrailerSection()).collect(buf, state)) {
      this.fail(UpstreamFailure.PROTOCOL);
      return false;
    }
    if (n > 0) stream.onUpstreamBody(buf, pos, pos + n);
    return this.stream !== null;
  }

  /** Takes the response bytes chunk[start, end) that follow `pending`; returns the two as one view of pendingStore (appendKept). */
  private keepPending(chunk: Buffer, start: number, end: number): Buffer {
    const kept = this.pending!;
    const store = (this.pendingStore = appendKept(kept, this.pendingStore, chunk, start, end));
    return store.subarray(0, kept.length + end - start);
  }

  /** Takes the unparsed rest buf[pos, end) of a head; returns it to keep: buf itself when it is pendingStore's view. */
  private pendingView(buf: Buffer, pos: number, end: number): Buffer {
    return pos === 0 && isStartOf(buf, this.pendingStore) ? buf.subarray(0, end) : retain(buf, pos, end);
  }

  /** The upstream sent bytes no request asked for: count it and close. */
  private protocolError(): void {
    this.endpoint.counters.cxProtocolError++;
    this.socket.close();
  }

  private startBody(status: number): void {
    const flags = headOut[HEAD.FLAGS]!;
    const http11 = headOut[HEAD.VERSION_MINOR] === 1;
    this.keepAlive = http11 ? (flags & FLAG.CONNECTION_CLOSE) === 0 : (flags & FLAG.CONNECTION_KEEP_ALIVE) !== 0;
    if (this.headRequest || status === 204 || status === 304) {
      this.bodyMode = BodyMode.NONE;
    } else if ((flags & FLAG.CHUNKED) !== 0) {
      this.bodyMode = BodyMode.CHUNKED;
      this.chunkState.fill(0);
      this.trailers?.clear(); // a failed exchange's leftovers
    } else if ((flags & FLAG.CONTENT_LENGTH) !== 0) {
      this.remaining = headOut[HEAD.CONTENT_LENGTH_HI]! * 4294967296 + headOut[HEAD.CONTENT_LENGTH_LO]!;
      this.bodyMode = this.remaining === 0 ? BodyMode.NONE : BodyMode.LENGTH;
    } else {
      this.bodyMode = BodyMode.CLOSE;
      this.keepAlive = false;
    }
  }

  /** The response is complete; `extraBytes`: the upstream sent more after it, so the connection is not reused. */
  private finish(extraBytes: boolean): void {
    const stream = this.stream;
    if (stream === null) return;
    this.stream = null;
    // A trickled head's store (up to ~2x the head limit) is not kept while the connection idles in the pool.
    this.pendingStore = null;
    this.endpoint.cluster.releaseRequest();
    if (extraBytes) {
      this.protocolError();
    } else if (this.keepAlive && this.requestDone && this.pending === null && !this.exhausted()) {
      // A paused idle socket would not notice the upstream closing it (or sending bytes nobody asked for).
      if (this.socket.isPaused()) this.socket.resume();
      this.endpoint.release(this);
    } else {
      this.socket.close();
    }
    // Last: the stream may start its client's next request, which may take this connection from the pool.
    stream.onUpstreamResponseEnd();
  }

  /** The connection began as many exchanges as max_requests_per_connection allows (Envoy then closes it). */
  private exhausted(): boolean {
    const max = this.endpoint.maxRequestsPerConnection;
    return max > 0 && this.exchanges >= max;
  }

  private fail(failure: number): void {
    const stream = this.stream;
    this.stream = null;
    if (failure === UpstreamFailure.PROTOCOL) this.endpoint.counters.cxProtocolError++;
    this.socket.close();
    if (stream === null) return;
    this.endpoint.cluster.releaseRequest();
    this.endpoint.health.recordLocalFailure();
    stream.onUpstreamFailure(failure);
  }

  private releasePending(): void {
    if (this.pendingHeld) {
      this.pendingHeld = false;
      this.endpoint.cluster.releasePending();
    }
  }

  onSocketClose(): void {
    this.closed = true;
    this.tls?.free();
    this.clearHandshakeTimer();
    const endpoint = this.endpoint;
    const counters = endpoint.counters;
    counters.cxActive--;
    endpoint.cxActive--;
    endpoint.cluster.connectionClosed();
    this.releasePending();
    endpoint.connectionClosed();
    const stream = this.stream;
    if (stream === null) {
      endpoint.forget(this);
      return;
    }
    if (!this.connected) {
      counters.cxConnectFail++;
      this.stream = null;
      endpoint.cluster.releaseRequest();
      endpoint.health.recordLocalFailure();
      stream.onUpstreamFailure(UpstreamFailure.CONNECT);
    } else if (this.phase === PHASE_BODY && this.bodyMode === BodyMode.CLOSE) {
      this.keepAlive = false;
      this.finish(false);
    } else {
      this.stream = null;
      endpoint.cluster.releaseRequest();
      // A pooled connection the upstream had just closed is not the upstream failing (the request replays it).
      if (!(this.reused && this.responseBytes === 0)) endpoint.health.recordLocalFailure();
      stream.onUpstreamFailure(UpstreamFailure.RESET);
    }
  }
}

function onHandshakeTimeout(conn: UpstreamConnection): void {
  conn.handshakeTimedOut();
}

/**
 * Takes a head's bytes buf[0, buf.length) of which those from `from` are new; returns whether an empty line (LF LF or
 * LF CR LF) ends among the new bytes, the only way the head can have become whole. Each new LF is looked at once.
 */
function mayEndHead(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) {
    if (i >= 1 && buf[i - 1] === 0x0a) return true;
    if (i >= 2 && buf[i - 1] === 0x0d && buf[i - 2] === 0x0a) return true;
  }
  return false;
}
