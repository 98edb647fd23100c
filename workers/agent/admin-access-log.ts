// The bootstrap's `admin.access_log_path`, honoured as Envoy does: one line
// per admin request appended to that file (Envoy's own image sets it, often
// to /dev/null). Lines follow the start of Envoy's default access-log format:
//   [START_TIME] "METHOD PATH?QUERY HTTP/1.1" STATUS - BYTES_RECEIVED BYTES_SENT DURATION_MS
// The file is opened once at startup (Envoy's admin is not reloadable either).
// A slow disk cannot grow memory: past MAX_BUFFERED bytes waiting, lines are
// dropped and counted.
import { createWriteStream, type WriteStream } from 'node:fs';
import type { AdminRoute, Reply } from '../../src/admin/admin-http.js';
import type { Logger } from '../../src/log.js';

const MAX_BUFFERED = 256 * 1024;

export class AdminAccessLog {
  private stream: WriteStream | null;
  /** Lines dropped because the file could not keep up or could not be opened. */
  dropped = 0;

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.stream = createWriteStream(path, { flags: 'a' });
    this.stream.on('error', (err) => {
      log.error({ err, path }, 'admin access log: cannot write; admin requests are no longer logged');
      this.stream?.destroy();
      this.stream = null;
    });
  }

  /** Appends the line for one answered admin request. */
  record(method: string, path: string, query: string, status: number, bytesReceived: number, bytesSent: number, startMs: number): void {
    const stream = this.stream;
    if (stream === null || stream.writableLength > MAX_BUFFERED) {
      this.dropped++;
      return;
    }
    const target = query === '' ? path : `${path}?${query}`;
    const duration = Date.now() - startMs;
    stream.write(`[${new Date(startMs).toISOString()}] "${method} ${target} HTTP/1.1" ${status} - ${bytesReceived} ${bytesSent} ${duration}\n`);
  }

  close(): void {
    this.stream?.end();
    this.stream = null;
  }
}

/** The routes, each answering as before and then recording its request in `accessLog`. */
export function withAccessLog(routes: readonly AdminRoute[], accessLog: AdminAccessLog): AdminRoute[] {
  return routes.map((route): AdminRoute => ({
    ...route,
    handle: (body, query, params) => {
      const start = Date.now();
      const done = (r: Reply): Reply => {
        accessLog.record(route.method, route.path, query, r.status, Buffer.byteLength(body), Buffer.byteLength(r.body), start);
        return r;
      };
      const failed = (err: unknown): never => {
        accessLog.record(route.method, route.path, query, 500, Buffer.byteLength(body), 0, start);
        throw err;
      };
      let result: Reply | Promise<Reply>;
      try {
        result = route.handle(body, query, params);
      } catch (err) {
        return failed(err);
      }
      return result instanceof Promise ? result.then(done, failed) : done(result);
    },
  }));
}
