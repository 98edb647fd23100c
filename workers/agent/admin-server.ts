// The Envoy-style admin API on uWebSockets.js (trusted local peers only,
// 127.0.0.1 by default). Handlers call into an AdminBackend; every async
// answer follows uWS's lifetime rules: onAborted before any await, writes
// after an await inside cork(), nothing written to an aborted response.
import { uws, type HttpRequest, type HttpResponse, type us_listen_socket } from '../../src/uws.js';
import type { Logger } from '../../src/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/stats/prometheus-text.js';

export interface AdminBackend {
  /** Every worker applied the active config and listens, and listeners are not drained. */
  isReady(): boolean;
  statsPrometheus(): Promise<string>;
  configDump(): Promise<unknown>;
  clustersText(): Promise<string>;
  clustersJson(): Promise<unknown>;
  drainListeners(): void;
  /** Starts a graceful shutdown (after the response is sent). */
  quit(): void;
  /** Debug only: terminate worker `id`; false when there is no such live worker. */
  crashWorker(id: number): boolean;
}

export interface AdminServerOptions {
  readonly address: string;
  readonly port: number;
  readonly enableDebugEndpoints: boolean;
  readonly log: Logger;
}

export interface AdminServer {
  readonly port: number;
  close(): void;
}

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json';

const STATUS_LINES: Readonly<Record<number, string>> = {
  200: '200 OK',
  400: '400 Bad Request',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

function reply(status: number, contentType: string, body: string): Reply {
  return { status, contentType, body };
}

function write(res: HttpResponse, r: Reply, head: boolean): void {
  res.writeStatus(STATUS_LINES[r.status] ?? String(r.status)).writeHeader('content-type', r.contentType);
  // uWS would send a body on HEAD too and break the framing of a kept-alive connection;
  // (its endWithoutBody() stalls pipelined requests in this build, so HEAD reports length 0).
  res.end(head ? '' : r.body);
}

/** Answers from a possibly async producer, honouring uWS lifetimes (`head`: the request was HEAD). */
function respond(res: HttpResponse, log: Logger, head: boolean, produce: () => Reply | Promise<Reply>): void {
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });
  let result: Reply | Promise<Reply>;
  try {
    result = produce();
  } catch (err) {
    log.error({ err }, 'admin handler failed');
    result = reply(500, TEXT, `internal error: ${(err as Error).message}\n`);
  }
  if (!(result instanceof Promise)) {
    write(res, result, head);
    return;
  }
  result.then(
    (r) => {
      if (!aborted) res.cork(() => write(res, r, head));
    },
    (err: unknown) => {
      log.error({ err }, 'admin handler failed');
      if (!aborted) res.cork(() => write(res, reply(500, TEXT, `internal error: ${(err as Error).message}\n`), head));
    },
  );
}

/** Takes the backend and where to listen; resolves once listening (with the real port when port is 0). */
export function startAdminServer(backend: AdminBackend, options: AdminServerOptions): Promise<AdminServer> {
  const { log } = options;
  const app = uws.App();

  const route = (method: 'GET' | 'POST', path: string, handler: (req: HttpRequest) => Reply | Promise<Reply>): void => {
    app.any(path, (res, req) => {
      const got = req.getMethod().toUpperCase();
      const head = got === 'HEAD';
      if (got !== method && !(method === 'GET' && head)) {
        respond(res, log, head, () => reply(405, TEXT, `${path} needs ${method}\n`));
        return;
      }
      respond(res, log, head, () => handler(req));
    });
  };

  route('GET', '/ready', () => (backend.isReady() ? reply(200, TEXT, 'LIVE\n') : reply(503, TEXT, 'NOT READY\n')));
  route('GET', '/healthz', () => reply(200, TEXT, 'OK\n'));
  route('GET', '/stats/prometheus', async () => reply(200, PROMETHEUS_CONTENT_TYPE, await backend.statsPrometheus()));
  route('GET', '/config_dump', async () => reply(200, JSON_TYPE, `${JSON.stringify(await backend.configDump(), null, 2)}\n`));
  route('GET', '/clusters', async (req) =>
    req.getQuery('format') === 'json'
      ? reply(200, JSON_TYPE, `${JSON.stringify(await backend.clustersJson(), null, 2)}\n`)
      : reply(200, TEXT, await backend.clustersText()),
  );
  route('POST', '/drain_listeners', () => {
    backend.drainListeners();
    return reply(200, TEXT, 'OK\n');
  });
  route('POST', '/quitquitquit', () => {
    // Answer first; the shutdown closes this server.
    setImmediate(() => backend.quit());
    return reply(200, TEXT, 'OK\n');
  });
  if (options.enableDebugEndpoints) {
    route('POST', '/debug/crash_worker', (req) => {
      const raw = req.getQuery('id') ?? '';
      if (!/^\d+$/.test(raw)) return reply(400, TEXT, 'expected ?id=<worker id>\n');
      return backend.crashWorker(Number(raw)) ? reply(200, TEXT, 'OK\n') : reply(404, TEXT, `no live worker ${raw}\n`);
    });
  }
  app.any('/*', (res, req) => {
    const path = req.getUrl();
    respond(res, log, req.getMethod().toUpperCase() === 'HEAD', () => reply(404, TEXT, `no admin endpoint ${path}\n`));
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
