// One HTTP/2 stream as the connection an ActiveRequest runs on: the stream's
// request becomes an HTTP/1.1 head (pseudo-headers to request line and host,
// cookies joined, connection-specific headers dropped) parsed by the same
// native parser, its DATA frames the body (chunked when no content-length),
// and the HTTP/1.1 response the request writes back is read into HTTP/2
// HEADERS, DATA and trailers (h1-response-reader.ts). Routing, filters, the
// router, retries, stats and the access log are the HTTP/1.1 path's own.
import type { ServerHttp2Stream } from 'node:http2';
import { constants as h2 } from 'node:http2';
import { CHUNKED, parseRequestHead, type TlsCertificateInfo } from '../../src/native.js';
import { ActiveRequest } from '../active-request.js';
import type { DownstreamConnection } from '../downstream-connection.js';
import { headOut, parseLimits } from '../parse-scratch.js';
import type { WorkerContext } from '../worker-context.js';
import { H1ResponseReader, type H2ResponseSink } from './h1-response-reader.js';
import type { H2DownstreamSession } from './h2-downstream-session.js';

/** Request headers an HTTP/1.1 head does not carry over from HTTP/2 (framing and connection-specific ones). */
const DROPPED: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'cookie', 'content-length']);
const LAST_CHUNK_TEXT = '0\r\n\r\n';

export class H2StreamConnection implements H2ResponseSink {
  readonly chunkState = new Float64Array(CHUNKED.STATE_SIZE);
  private readonly reader: H1ResponseReader;
  private request: ActiveRequest | null = null;
  private chunkedBody = false;
  private ended = false;
  private responded = false;
  /** Response trailers to send with the end (set by the h2 upstream through the request). */
  trailers: Record<string, string> | null = null;
  /** The response comes from an HTTP/2 upstream: trailers may follow its body. */
  mayTrail = false;
  /** The client asked for trailers (te: trailers): gRPC. */
  readonly wantsTrailers: boolean;
  readonly grpc: boolean;

  constructor(
    private readonly session: H2DownstreamSession,
    private readonly stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
    rawHeaders: string[],
    endStream: boolean,
  ) {
    const method = String(headers[':method'] ?? 'GET');
    this.reader = new H1ResponseReader(this, method === 'HEAD');
    const te = headers['te'];
    this.wantsTrailers = te === 'trailers';
    const contentType = headers['content-type'];
    this.grpc = typeof contentType === 'string' && contentType.startsWith('application/grpc');
    stream.on('data', this.onData.bind(this));
    stream.on('end', this.onEnd.bind(this));
    stream.on('close', this.onClose.bind(this));
    stream.on('drain', this.onDrain.bind(this));
    stream.on('error', noop);
    this.start(method, headers, rawHeaders, endStream);
  }

  // ---- what ActiveRequest asks of its connection ----

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

  get requestedServerName(): string {
    return this.session.conn.requestedServerName;
  }

  write(data: Buffer | string): boolean {
    if (this.ended) return true;
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    return this.reader.write(buf, typeof data === 'string');
  }

  pauseReading(): void {
    this.stream.pause();
  }

  resumeReading(): void {
    if (!this.stream.destroyed) this.stream.resume();
  }

  /** The response was cut mid-way: reset the stream. */
  destroy(): void {
    this.reset(h2.NGHTTP2_INTERNAL_ERROR);
  }

  onRequestDone(_req: ActiveRequest, _close: boolean): void {
    this.request = null;
    if (!this.ended) {
      // Finished without a whole response (cannot happen for one the reader read through): reset.
      this.reset(h2.NGHTTP2_INTERNAL_ERROR);
    } else if (!this.stream.destroyed && this.stream.readable && !this.stream.readableEnded) {
      // Answered before the request body finished: stop it (RFC 9113 8.1, NO_ERROR).
      this.stream.close(h2.NGHTTP2_NO_ERROR);
    }
  }

  // ---- the request ----

  private start(method: string, headers: Record<string, string | string[] | undefined>, raw: string[], endStream: boolean): void {
    const path = headers[':path'];
    const authority = headers[':authority'] ?? headers['host'];
    if (method === 'CONNECT' || typeof path !== 'string' || path === '') {
      this.refuse(method === 'CONNECT' ? 403 : 400);
      return;
    }
    let head = method + ' ' + path + ' HTTP/1.1\r\nhost: ' + (typeof authority === 'string' ? authority : '') + '\r\n';
    let cookie = '';
    let contentLength = '';
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.charCodeAt(0) === 58 /* : */) continue;
      if (DROPPED.has(name)) {
        if (name === 'cookie') cookie = cookie === '' ? raw[i + 1]! : cookie + '; ' + raw[i + 1]!;
        else if (name === 'content-length') contentLength = raw[i + 1]!;
        continue;
      }
      head += name + ': ' + raw[i + 1]! + '\r\n';
    }
    if (cookie !== '') head += 'cookie: ' + cookie + '\r\n';
    if (!endStream) {
      if (contentLength !== '') head += 'content-length: ' + contentLength + '\r\n';
      else {
        head += 'transfer-encoding: chunked\r\n';
        this.chunkedBody = true;
      }
    }
    const buf = Buffer.from(head + '\r\n', 'latin1');
    const n = parseRequestHead(buf, 0, buf.length, headOut, parseLimits.maxHeadBytes, parseLimits.maxHeaders);
    if (n <= 0) {
      this.refuse(n === 0 ? 431 : 400);
      return;
    }
    const req = new ActiveRequest(this as unknown as DownstreamConnection, this.worker.snapshot, this.session.listenerName);
    this.request = req;
    req.http2Stream = this;
    req.start(buf, n);
  }

  /** A request that cannot become an HTTP/1.1 one: answered here. */
  private refuse(status: number): void {
    this.ended = true;
    if (!this.stream.destroyed) this.stream.respond({ ':status': status }, { endStream: true });
  }

  private onData(chunk: Buffer): void {
    const req = this.request;
    if (req === null || !req.receivingBody) return;
    if (this.chunkedBody) {
      const framed = Buffer.allocUnsafe(chunk.length + 12);
      let at = framed.write(chunk.length.toString(16) + '\r\n', 0, 'latin1');
      at += chunk.copy(framed, at);
      at += framed.write('\r\n', at, 'latin1');
      req.onDownstreamBody(framed, 0, at);
    } else {
      req.onDownstreamBody(chunk, 0, chunk.length);
    }
  }

  private onEnd(): void {
    const req = this.request;
    if (req === null || !req.receivingBody) return;
    if (this.chunkedBody) {
      const last = Buffer.from(LAST_CHUNK_TEXT, 'latin1');
      req.onDownstreamBody(last, 0, last.length);
    } else {
      // content-length promised more than the stream carried.
      req.downstreamProtocolError();
    }
  }

  private onDrain(): void {
    if (this.request !== null) this.request.onDownstreamWritable();
  }

  private onClose(): void {
    const req = this.request;
    if (!this.ended) this.session.streamResetEarly();
    this.ended = true;
    this.request = null;
    if (req !== null && !req.finished) req.onDownstreamClosed();
  }

  private reset(code: number): void {
    this.ended = true;
    if (!this.stream.destroyed) this.stream.close(code);
  }

  // ---- H2ResponseSink: the response, as HTTP/2 ----

  h2Head(headers: Record<string, string | string[] | number>, noBody: boolean): void {
    if (this.stream.destroyed) return;
    this.responded = true;
    try {
      this.respondWith(headers, noBody);
    } catch {
      // A header HTTP/2 cannot carry (node:http2 refuses it): the stream is reset rather than the proxy failing.
      this.reset(h2.NGHTTP2_INTERNAL_ERROR);
    }
  }

  private respondWith(headers: Record<string, string | string[] | number>, noBody: boolean): void {
    if (noBody) {
      this.ended = true;
      this.stream.respond(headers, { endStream: true });
    } else if (this.mayTrail || this.grpc) {
      // Trailers may follow the body (an HTTP/2 upstream's, gRPC's status): the stream ends with them (or an empty DATA frame).
      this.stream.respond(headers, { waitForTrailers: true });
      this.stream.once('wantTrailers', this.sendTrailers.bind(this));
    } else {
      this.stream.respond(headers);
    }
  }

  h2Data(data: Buffer): boolean {
    if (this.stream.destroyed) return true;
    return this.stream.write(data);
  }

  h2End(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.stream.destroyed) this.stream.end();
  }

  private sendTrailers(): void {
    if (this.stream.destroyed) return;
    try {
      this.stream.sendTrailers(this.trailers ?? {});
    } catch {
      this.reset(h2.NGHTTP2_INTERNAL_ERROR);
    }
  }

  h2Broken(): void {
    this.reset(h2.NGHTTP2_INTERNAL_ERROR);
  }

  get responseStarted(): boolean {
    return this.responded;
  }
}

function noop(): void {}
