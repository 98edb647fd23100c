// The admin HTTP server both processes use (the proxy's Envoy-style admin,
// the control plane's): uWebSockets.js, trusted local peers only (127.0.0.1
// by default), a table of routes each answering with a Reply, sync or async.
// uWS lifetimes are honoured: onAborted before any await, writes after an
// await inside cork(), nothing written to an aborted response. POST bodies
// are read whole, up to a limit (413 above it), and all bodies being read at
// once share one budget (503 past it). Every request first passes
// the cross-origin guard (admin-request-guard.ts): Host, Origin, and for a
// POST a header a web page cannot send; a route may also need a bearer token.

import { uws, type HttpRequest, type HttpResponse, type us_listen_socket } from '../uws.js';
import type { Logger } from '../log.js';
import { ADMIN_HEADER, allowedHostSet, bearerMatches, hostProblem, originProblem, postProblem, type AllowedHosts } from './admin-request-guard.js';

export interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Extra response headers (e.g. www-authenticate). */
  readonly headers?: readonly (readonly [string, string])[];
}

export const TEXT = 'text/plain; charset=utf-8';
export const JSON_TYPE = 'application/json';

export function reply(status: number, contentType: string, body: string): Reply {
  return { status, contentType, body };
}

export function jsonReply(status: number, value: unknown): Reply {
  return reply(status, JSON_TYPE, `${JSON.stringify(value, null, 2)}\n`);
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /**
   * `body` is the request body (UTF-8) for POST, '' for GET; `query` the raw query string; `params` the values of
   * the path's `:name` segments (uWS patterns, e.g. `/api/v2/trace/:traceId`), in order, URL-decoded.
   */
  readonly handle: (body: string, query: string, params: readonly string[]) => Reply | Promise<Reply>;
  /** Largest POST body for this route (default: the server's maxBodyBytes); larger gets 413 unread. */
  readonly maxBodyBytes?: number;
  /** When set, a POST's content type (its essence, lower-cased) must be one of these, else 415. */
  readonly contentTypes?: readonly string[];
  /** When set, requests need `authorization: Bearer <token>` (else 401 with `hint`, which says where the token is). */
  readonly bearer?: { readonly token: string; readonly hint: string };
}

export interface AdminHttpOptions {
  readonly address: string;
  readonly port: number;
  readonly log: Logger;
  /** Largest POST body (default 4 MiB). */
  readonly maxBodyBytes?: number;
  /**
   * POST bytes held at once, over all requests still being read (default 16 MiB); a body that would pass it gets 503.
   * The per-body limit alone let 300 connections each holding a 4 MB body grow a proxy from 78 MB to 1.2 GB.
   */
  readonly maxBufferedBodyBytes?: number;
  /** Host names (`name` or `name:port`) the admin is reached by besides localhost and IP addresses (--admin-allowed-host). */
  readonly allowedHosts?: readonly string[];
}

export interface AdminHttpServer {
  readonly port: number;
  close(): void;
}

const STATUS_LINES: Readonly<Record<number, string>> = {
  200: '200 OK', 202: '202 Accepted', 400: '400 Bad Request', 401: '401 Unauthorized', 403: '403 Forbidden', 404: '404 Not Found', 405: '405 Method Not Allowed',
  413: '413 Payload Too Large', 415: '415 Unsupported Media Type', 422: '422 Unprocessable Entity', 500: '500 Internal Server Error', 503: '503 Service Unavailable',
};

const DEFAULT_MAX_BODY = 4 * 1024 * 1024;
const DEFAULT_MAX_BUFFERED = 16 * 1024 * 1024;

function write(res: HttpResponse, r: Reply, head: boolean): void {
  res.writeStatus(STATUS_LINES[r.status] ?? String(r.status)).writeHeader('content-type', r.contentType);
  if (r.headers !== undefined) for (const [name, value] of r.headers) res.writeHeader(name, value);
  res.end(head ? '' : r.body); // uWS would send a body on HEAD too and break a kept-alive connection's framing; its endWithoutBody() stalls pipelined requests in this build
}

function failed(log: Logger, err: unknown): Reply {
  log.error({ err }, 'admin handler failed');
  return reply(500, TEXT, `internal error: ${(err as Error).message}\n`);
}

/** Answers from a possibly async producer; `state.aborted` is set by the caller's onAborted. */
function answer(res: HttpResponse, log: Logger, head: boolean, state: { aborted: boolean }, produce: () => Reply | Promise<Reply>, corked: boolean): void {
  let result: Reply | Promise<Reply>;
  try {
    result = produce();
  } catch (err) {
    result = failed(log, err);
  }
  if (!(result instanceof Promise)) {
    if (state.aborted) return;
    if (corked) res.cork(() => write(res, result as Reply, head));
    else write(res, result, head);
    return;
  }
  result.then(
    (r) => {
      if (!state.aborted) res.cork(() => write(res, r, head));
    },
    (err: unknown) => {
      const r = failed(log, err);
      if (!state.aborted) res.cork(() => write(res, r, head));
    },
  );
}

/** The refusal for a request a cross-origin page could have sent (or a missing token); undefined lets it through. `req` is valid only now. */
function refusal(req: HttpRequest, method: string, path: string, route: AdminRoute | undefined, allowed: AllowedHosts): Reply | undefined {
  const host = req.getHeader('host').toLowerCase();
  const problem = hostProblem(host, allowed) ?? originProblem(req.getHeader('origin').toLowerCase(), host)
    ?? (method === 'POST' ? postProblem(path, req.getHeader('content-type'), req.getHeader(ADMIN_HEADER)) : undefined);
  if (problem !== undefined) return reply(403, TEXT, problem);
  if (route?.bearer !== undefined && !bearerMatches(req.getHeader('authorization'), route.bearer.token)) {
    const body = `${method} ${path} needs the admin token (authorization: Bearer TOKEN): ${route.bearer.hint}\n`;
    return { ...reply(401, TEXT, body), headers: [['www-authenticate', 'Bearer realm="isthmus-admin"']] };
  }
  return undefined;
}

/** A path segment as sent, percent-decoded when that is valid (else as sent). */
function decodedParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** 415 when the route names the content types it takes and the request's is not one of them. `req` is valid only now. */
function contentTypeRefusal(req: HttpRequest, path: string, route: AdminRoute): Reply | undefined {
  if (route.contentTypes === undefined) return undefined;
  const essence = req.getHeader('content-type').split(';', 1)[0]!.trim().toLowerCase();
  if (route.contentTypes.includes(essence)) return undefined;
  return reply(415, TEXT, `POST ${path} takes ${route.contentTypes.join(' or ')}, not '${essence || '(none)'}'\n`);
}

/** Takes the routes and where to listen; resolves once listening (with the real port when port is 0). */
export function startAdminHttp(routes: readonly AdminRoute[], options: AdminHttpOptions): Promise<AdminHttpServer> {
  const { log } = options;
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxBuffered = options.maxBufferedBodyBytes ?? DEFAULT_MAX_BUFFERED;
  let buffered = 0; // bytes of the POST bodies being read now, all requests together
  const busy = (): Reply => reply(503, TEXT, `admin busy: other requests' bodies fill the ${maxBuffered}-byte budget; try again\n`);
  const allowed = allowedHostSet(options.allowedHosts);
  const app = uws.App();
  const byPath = new Map<string, AdminRoute[]>();
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);

  for (const [path, list] of byPath) {
    const paramCount = path.split('/').filter((segment) => segment.startsWith(':')).length;
    app.any(path, (res, req) => {
      const state: { aborted: boolean; release?: () => void } = { aborted: false };
      res.onAborted(() => {
        state.aborted = true;
        state.release?.();
      });
      const got = req.getMethod().toUpperCase();
      const head = got === 'HEAD';
      const query = req.getQuery() ?? '';
      const route = list.find((r) => r.method === got || (r.method === 'GET' && head));
      const params: string[] = [];
      for (let i = 0; i < paramCount; i++) params.push(decodedParam(req.getParameter(i) ?? ''));
      const refused = refusal(req, got, path, route, allowed) ?? (route?.method === 'POST' ? contentTypeRefusal(req, path, route) : undefined);
      if (refused !== undefined) {
        answer(res, log, head, state, () => refused, false); // a refused POST's body is never read
        return;
      }
      if (route === undefined) {
        answer(res, log, head, state, () => reply(405, TEXT, `${path} needs ${list.map((r) => r.method).join(' or ')}\n`), false);
        return;
      }
      if (route.method === 'GET') {
        answer(res, log, head, state, () => route.handle('', query, params), false);
        return;
      }
      // The chunks uWS hands over are only valid during the callback: copy each.
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const limit = route.maxBodyBytes ?? maxBody;
      const declared = Number(req.getHeader('content-length'));
      if (declared > limit) {
        // Declared over the limit: refused now, not after the client has sent the limit's worth (or nothing more).
        answer(res, log, false, state, () => reply(413, TEXT, `request body over ${limit} bytes\n`), false);
        return;
      }
      if (buffered + declared > maxBuffered) {
        answer(res, log, false, state, busy, false);
        return;
      }
      // Gives this request's bytes back to the budget, once: when it is answered, refused or aborted.
      const release = (): void => {
        buffered -= size;
        size = 0;
        chunks.length = 0;
        state.release = undefined;
      };
      state.release = release;
      res.onData((chunk, isLast) => {
        if (done) return;
        const over = size + chunk.byteLength > limit;
        if (over || buffered + chunk.byteLength > maxBuffered) {
          done = true;
          release();
          answer(res, log, false, state, over ? () => reply(413, TEXT, `request body over ${limit} bytes\n`) : busy, true);
          return;
        }
        size += chunk.byteLength;
        buffered += chunk.byteLength;
        chunks.push(Buffer.from(new Uint8Array(chunk)));
        if (!isLast) return;
        done = true;
        const body = Buffer.concat(chunks).toString('utf8');
        release();
        answer(res, log, false, state, () => route.handle(body, query, params), true);
      });
    });
  }
  app.any('/*', (res, req) => {
    const state = { aborted: false };
    res.onAborted(() => {
      state.aborted = true;
    });
    const path = req.getUrl();
    const got = req.getMethod().toUpperCase();
    const refused = refusal(req, got, path, undefined, allowed);
    answer(res, log, got === 'HEAD', state, () => refused ?? reply(404, TEXT, `no admin endpoint ${path}\n`), false);
  });

  return new Promise((resolve, reject) => {
    app.listen(options.address, options.port, (listenSocket: us_listen_socket | false) => {
      if (listenSocket === false) {
        reject(new Error(`admin: cannot listen on ${options.address}:${options.port} (in use, or not a local address)`));
        return;
      }
      let open = true;
      resolve({
        port: uws.us_socket_local_port(listenSocket as unknown as Parameters<typeof uws.us_socket_local_port>[0]),
        close() {
          if (!open) return;
          open = false;
          uws.us_listen_socket_close(listenSocket);
        },
      });
    });
  });
}
