// Both ends of the proxy under test, on loopback: upstreams (node:http
// servers on 127.0.0.1:0 that record every request, answered by a handler the
// test chooses or a ready-made one) and clients (node:http, which unlike
// fetch can set Host, and raw TCP for bytes no well-behaved client sends).
import * as http from 'node:http';
import * as net from 'node:net';

// ---------------------------------------------------------------- upstreams

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  /** latin1, so binary bodies survive the round trip. */
  readonly body: string;
}

export interface Upstream {
  readonly port: number;
  readonly server: http.Server;
  /** Requests received, in order, each added once its body has arrived. */
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/** Answers one request; called once the whole request body has arrived. */
export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** 200 with `name` as the body and in `x-upstream`, so a test sees which upstream answered. */
export function replyName(name: string): UpstreamHandler {
  return (_req, res) => {
    res.setHeader('x-upstream', name);
    res.end(name);
  };
}

const MAX_SLOW_MS = 10_000;

/** 200 `upstream <path>\n`; `/slow?ms=N` answers after N ms (at most 10 s), for in-flight requests during drains. */
export const replyPath: UpstreamHandler = (req, res) => {
  const url = new URL(req.url ?? '/', 'http://upstream');
  const delay = url.pathname === '/slow' ? Math.min(Number(url.searchParams.get('ms') ?? '1000'), MAX_SLOW_MS) : 0;
  const answer = (): void => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`upstream ${url.pathname}\n`);
  };
  if (delay > 0) setTimeout(answer, delay);
  else answer();
};

export async function startUpstream(handler: UpstreamHandler = replyPath): Promise<Upstream> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  // Longer than any test, so the proxy's pooled connections are never closed under it by surprise.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound and closed at once). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------- clients

export interface HttpResult {
  readonly status: number;
  /** The status line's reason phrase. */
  readonly statusMessage: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The request went out on a kept-alive connection that had served an earlier request. */
  readonly reusedSocket: boolean;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly body?: string | Buffer;
  /** Default false: a connection of its own. */
  readonly agent?: http.Agent | false;
  readonly timeoutMs?: number;
}

/** Up to 64 kept-alive connections shared by a test file's requests, for tests that need no fresh connection. */
export const keepAliveAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** One request to 127.0.0.1:port, bounded by timeoutMs (default 10 s). */
export function request(port: number, path: string, o: RequestOptions = {}): Promise<HttpResult> {
  const method = o.method ?? 'GET';
  return new Promise((res, rej) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: o.headers, agent: o.agent ?? false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (c: string) => (body += c));
      response.on('end', () => res({ status: response.statusCode ?? 0, statusMessage: response.statusMessage ?? '', headers: response.headers, body, reusedSocket: req.reusedSocket }));
      response.on('error', rej);
    });
    req.setTimeout(o.timeoutMs ?? 10_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', rej);
    req.end(o.body);
  });
}

export interface RawResult {
  /** Everything received until the server closed or the wait ended. */
  readonly text: string;
  /** The server closed the connection (FIN or reset) within the wait. */
  readonly closed: boolean;
}

/** Sends raw bytes and collects the answer until the peer closes or `waitMs` passes. */
export function rawExchange(port: number, data: string | Buffer, waitMs = 2000): Promise<RawResult> {
  return new Promise((res) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      res({ text: Buffer.concat(chunks).toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', () => socket.write(data));
  });
}

/** Status codes of every response in a raw HTTP/1.1 byte stream. */
export function statusCodes(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
}
