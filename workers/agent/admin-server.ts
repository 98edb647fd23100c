// The proxy's Envoy-style admin API: the endpoints an Envoy operator knows,
// served by the shared admin HTTP server (src/admin/admin-http.ts), each one
// answered by the agent through an AdminBackend.
import { JSON_TYPE, TEXT, reply, startAdminHttp, type AdminHttpServer, type AdminRoute } from '../../src/admin/admin-http.js';
import type { Logger } from '../../src/log.js';
import { AdminAccessLog, withAccessLog } from './admin-access-log.js';
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
  /** The bootstrap's admin.access_log_path: one line per admin request is appended to it. */
  readonly accessLogPath?: string;
}

export type AdminServer = AdminHttpServer;

function adminRoutes(backend: AdminBackend, enableDebugEndpoints: boolean): AdminRoute[] {
  const json = (value: unknown) => reply(200, JSON_TYPE, `${JSON.stringify(value, null, 2)}\n`);
  const routes: AdminRoute[] = [
    { method: 'GET', path: '/ready', handle: () => (backend.isReady() ? reply(200, TEXT, 'LIVE\n') : reply(503, TEXT, 'NOT READY\n')) },
    { method: 'GET', path: '/healthz', handle: () => reply(200, TEXT, 'OK\n') },
    { method: 'GET', path: '/stats/prometheus', handle: async () => reply(200, PROMETHEUS_CONTENT_TYPE, await backend.statsPrometheus()) },
    { method: 'GET', path: '/config_dump', handle: async () => json(await backend.configDump()) },
    {
      method: 'GET',
      path: '/clusters',
      handle: async (_body, query) =>
        new URLSearchParams(query).get('format') === 'json' ? json(await backend.clustersJson()) : reply(200, TEXT, await backend.clustersText()),
    },
    {
      method: 'POST',
      path: '/drain_listeners',
      handle: () => {
        backend.drainListeners();
        return reply(200, TEXT, 'OK\n');
      },
    },
    {
      method: 'POST',
      path: '/quitquitquit',
      handle: () => {
        setImmediate(() => backend.quit()); // answer first; the shutdown closes this server
        return reply(200, TEXT, 'OK\n');
      },
    },
  ];
  if (enableDebugEndpoints) {
    routes.push({
      method: 'POST',
      path: '/debug/crash_worker',
      handle: (_body, query) => {
        const raw = new URLSearchParams(query).get('id') ?? '';
        if (!/^\d+$/.test(raw)) return reply(400, TEXT, 'expected ?id=<worker id>\n');
        return backend.crashWorker(Number(raw)) ? reply(200, TEXT, 'OK\n') : reply(404, TEXT, `no live worker ${raw}\n`);
      },
    });
  }
  return routes;
}

/** Takes the backend and where to listen; resolves once listening (with the real port when port is 0). */
export async function startAdminServer(backend: AdminBackend, options: AdminServerOptions): Promise<AdminServer> {
  const routes = adminRoutes(backend, options.enableDebugEndpoints);
  if (options.accessLogPath === undefined) return startAdminHttp(routes, options);
  const accessLog = new AdminAccessLog(options.accessLogPath, options.log);
  const server = await startAdminHttp(withAccessLog(routes, accessLog), options).catch((err: unknown) => {
    accessLog.close();
    throw err;
  });
  return {
    port: server.port,
    close() {
      server.close();
      accessLog.close();
    },
  };
}
