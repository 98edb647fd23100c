// A node:http2 stream as an H2StreamBackend (the fallback session,
// h2-downstream-session.ts): its request headers become an HTTP/1.1 head
// (pseudo-headers to request line and host, cookies joined,
// connection-specific headers dropped), its events drive the H2StreamConnection.
import type { ServerHttp2Stream } from 'node:http2';
import type { H2StreamBackend, H2SessionSide } from './h2-stream-backend.js';
import { H2StreamConnection } from './h2-stream-connection.js';

/** Request headers an HTTP/1.1 head does not carry over from HTTP/2 (framing and connection-specific ones). */
const DROPPED: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'host', 'cookie', 'content-length']);

export class NodeH2Stream implements H2StreamBackend {
  private readonly conn: H2StreamConnection;
  private trailers: Record<string, string> | null = null;

  constructor(
    session: H2SessionSide,
    private readonly stream: ServerHttp2Stream,
    headers: Record<string, string | string[] | undefined>,
    raw: string[],
    endStream: boolean,
  ) {
    const method = String(headers[':method'] ?? 'GET');
    const contentType = headers['content-type'];
    const conn = new H2StreamConnection(session, method, headers['te'] === 'trailers', typeof contentType === 'string' && contentType.startsWith('application/grpc'));
    this.conn = conn;
    conn.backend = this;
    stream.on('data', this.onData.bind(this));
    stream.on('trailers', this.onTrailers.bind(this));
    stream.on('end', conn.onEnd.bind(conn));
    stream.on('close', conn.onClose.bind(conn));
    stream.on('drain', conn.onDrain.bind(conn));
    stream.on('error', noop);
    const path = headers[':path'];
    if (method === 'CONNECT' || typeof path !== 'string' || path === '') {
      conn.refuse(method === 'CONNECT' ? 403 : 400);
      return;
    }
    conn.startHead(h1Head(method, path, headers, raw, endStream));
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  get requestOpen(): boolean {
    return this.stream.readable && !this.stream.readableEnded;
  }

  respond(headers: Record<string, string | string[] | number>, endStream: boolean, withTrailers: boolean): void {
    if (endStream) {
      this.stream.respond(headers, { endStream: true });
    } else if (withTrailers) {
      this.stream.respond(headers, { waitForTrailers: true });
      this.stream.once('wantTrailers', this.sendTrailers.bind(this));
    } else {
      this.stream.respond(headers);
    }
  }

  write(data: Buffer): boolean {
    return this.stream.write(data);
  }

  end(trailers: Record<string, string> | null): void {
    this.trailers = trailers;
    this.stream.end();
  }

  close(code: number): void {
    if (!this.stream.destroyed) this.stream.close(code);
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** The client's request trailers (before 'end'). */
  private onTrailers(trailers: Record<string, string | string[] | undefined>): void {
    const fields = Object.create(null) as Record<string, string>;
    for (const name in trailers) {
      const v = trailers[name];
      if (name.charCodeAt(0) !== 58 && v !== undefined) fields[name] = Array.isArray(v) ? v.join(', ') : v;
    }
    this.conn.onRequestTrailers(fields);
  }

  private onData(chunk: Buffer): void {
    this.conn.onData(chunk, 0, chunk.length);
  }

  private sendTrailers(): void {
    if (this.stream.destroyed) return;
    try {
      this.stream.sendTrailers(this.trailers ?? {});
    } catch {
      this.close(2);
    }
  }
}

function h1Head(method: string, path: string, headers: Record<string, string | string[] | undefined>, raw: string[], endStream: boolean): Buffer {
  const authority = headers[':authority'] ?? headers['host'];
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
  if (!endStream) head += contentLength !== '' ? 'content-length: ' + contentLength + '\r\n' : 'transfer-encoding: chunked\r\n';
  return Buffer.from(head + '\r\n', 'latin1');
}

function noop(): void {}
