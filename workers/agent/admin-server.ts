// The proxy's Envoy-style admin API: the endpoints an Envoy operator knows,
// in Envoy's shapes, served by the shared admin HTTP server
// (src/admin/admin-http.ts), each one answered by the agent through an
// AdminBackend. `/` and `/help` list them, as Envoy's admin does.
import type { ThreadModel } from './data-plane-host.js';
import { JSON_TYPE, TEXT, reply, startAdminHttp, type AdminHttpServer, type AdminRoute, type Reply } from '../../src/admin/admin-http.js';
import { LOG_LEVELS, isLogLevel, type Logger } from '../../src/log.js';
import { AdminAccessLog, withAccessLog } from './admin-access-log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../../src/stats/prometheus-text.js';
import { compileSearch, type SearchRegex } from '../../src/config/re2-regex.js';
import { envoyStatsJson, envoyStatsText, type StatEntry } from './envoy-stats.js';

export interface ListenerAddress {
  readonly name: string;
  readonly address: string;
  readonly port: number;
}

export interface AdminBackend {
  /** Why the proxy is not ready (workers still applying, draining, waiting for the control plane), or null when it is. */
  notReadyReason(): string | null;
  statsPrometheus(): Promise<string>;
  /** Every stat as Envoy names it (`cluster.backend.upstream_rq_total`), unsorted. */
  statsEntries(): Promise<StatEntry[]>;
  /** envoy.admin.v3.ConfigDump as JSON; the query carries ?resource=, ?mask=, ?name_regex=, ?include_eds. */
  envoyConfigDump(query: URLSearchParams): Reply;
  /** The agent's own model of its state (the active bootstrap, workers, xDS client), for debugging. */
  configDump(): Promise<unknown>;
  clustersText(): Promise<string>;
  clustersJson(): Promise<unknown>;
  listeners(): readonly ListenerAddress[];
  /** envoy.admin.v3.Certificates: the loaded TLS certificates (never a key). */
  certs(): unknown;
  /** The SDS secrets of the workload identity (chain, serial, SANs, expiry; never the key). */
  secrets(): unknown;
  /** envoy.admin.v3.ServerInfo as JSON. */
  serverInfo(): unknown;
  /** The level every logger (agent and workers) is at. */
  logLevel(): string;
  setLogLevel(level: string): void;
  drainListeners(): void;
  /** Starts a graceful shutdown (after the response is sent). */
  quit(): void;
  /** Debug only: terminate worker `id`; false when there is no such live worker. */
  crashWorker(id: number): boolean;
  /** Where the data plane runs: on this thread (--workers 1) or in worker threads. */
  readonly threadModel: ThreadModel;
}

export interface AdminServerOptions {
  readonly address: string;
  readonly port: number;
  readonly enableDebugEndpoints: boolean;
  /** --admin-allowed-host: names besides localhost and IP addresses a request's Host may carry. */
  readonly allowedHosts?: readonly string[];
  readonly log: Logger;
  /** The bootstrap's admin.access_log_path: one line per admin request is appended to it. */
  readonly accessLogPath?: string;
}

export type AdminServer = AdminHttpServer;

/** A route with the one line `/help` prints for it. */
interface HelpedRoute extends AdminRoute {
  readonly help: string;
}

const json = (value: unknown) => reply(200, JSON_TYPE, `${JSON.stringify(value, null, 2)}\n`);
const isJson = (query: URLSearchParams) => query.get('format') === 'json';

/** /memory in envoy.admin.v3.Memory's fields (uint64 as strings), from this process's memoryUsage(). */
export function memoryInfo(): Record<string, string> {
  const m = process.memoryUsage();
  return {
    allocated: String(m.heapUsed + m.external),
    heap_size: String(m.heapTotal),
    pageheap_unmapped: '0',
    pageheap_free: String(Math.max(0, m.heapTotal - m.heapUsed)),
    total_thread_cache: '0',
    total_physical_bytes: String(m.rss),
  };
}

function loggingReply(backend: AdminBackend, query: URLSearchParams, post: boolean): Reply {
  const level = query.get('level');
  if (post && level !== null) {
    if (!isLogLevel(level)) return reply(400, TEXT, `unknown level '${level}': one of ${LOG_LEVELS.join(', ')}\n`);
    backend.setLogLevel(level);
  } else if (post) {
    return reply(400, TEXT, `usage: POST /logging?level=<${LOG_LEVELS.join('|')}>\n`);
  }
  return reply(200, TEXT, `active loggers:\n  isthmus: ${backend.logLevel()}\n`);
}

function adminRoutes(backend: AdminBackend, enableDebugEndpoints: boolean): HelpedRoute[] {
  const routes: HelpedRoute[] = [
    {
      method: 'GET', path: '/ready', help: 'LIVE (200) when serving the active config, else 503 with the reason',
      handle: () => {
        const reason = backend.notReadyReason();
        return reason === null ? reply(200, TEXT, 'LIVE\n') : reply(503, TEXT, `NOT READY: ${reason}\n`);
      },
    },
    { method: 'GET', path: '/healthz', help: 'OK while the process runs', handle: () => reply(200, TEXT, 'OK\n') },
    { method: 'GET', path: '/server_info', help: 'version, state, uptime, command line options and node (envoy.admin.v3.ServerInfo)', handle: () => json(backend.serverInfo()) },
    {
      method: 'GET', path: '/stats', help: 'every stat as `name: value`; ?filter=REGEX, ?format=json',
      handle: async (_body, raw) => {
        const query = new URLSearchParams(raw);
        const filter = query.get('filter');
        // RE2, as Envoy: a backtracking RegExp on `(a+)+!` would stall this thread (admin, health checks, xDS).
        let pattern: SearchRegex | null = null;
        if (filter !== null && filter !== '') {
          try {
            pattern = compileSearch(filter);
          } catch (err) {
            return reply(400, TEXT, `filter: ${(err as Error).message}\n`);
          }
        }
        const entries = await backend.statsEntries();
        return isJson(query) ? json(envoyStatsJson(entries, pattern)) : reply(200, TEXT, envoyStatsText(entries, pattern));
      },
    },
    { method: 'GET', path: '/stats/prometheus', help: 'every stat in Prometheus text format', handle: async () => reply(200, PROMETHEUS_CONTENT_TYPE, await backend.statsPrometheus()) },
    {
      method: 'GET', path: '/config_dump', help: 'the active config as envoy.admin.v3.ConfigDump; ?resource=, ?mask=, ?name_regex=, ?include_eds',
      handle: (_body, raw) => backend.envoyConfigDump(new URLSearchParams(raw)),
    },
    { method: 'GET', path: '/debug/config_dump', help: 'the agent\'s own model: active bootstrap, workers, last rejected config, xDS client', handle: async () => json(await backend.configDump()) },
    {
      method: 'GET', path: '/clusters', help: 'upstream clusters and their endpoints\' stats; ?format=json',
      handle: async (_body, raw) => (isJson(new URLSearchParams(raw)) ? json(await backend.clustersJson()) : reply(200, TEXT, await backend.clustersText())),
    },
    {
      method: 'GET', path: '/listeners', help: 'listener names and addresses; ?format=json',
      handle: (_body, raw) => {
        const list = backend.listeners();
        if (!isJson(new URLSearchParams(raw))) return reply(200, TEXT, list.map((l) => `${l.name}::${l.address}:${l.port}\n`).join(''));
        return json({ listener_statuses: list.map((l) => ({ name: l.name, local_address: { socket_address: { address: l.address, port_value: l.port } } })) });
      },
    },
    { method: 'GET', path: '/certs', help: 'the loaded TLS certificates: path, serial, SANs, validity (never a key)', handle: () => json(backend.certs()) },
    { method: 'GET', path: '/secrets', help: 'the SDS secrets of the workload identity (default, ROOTCA): chain, serial, SANs, expiry (never the key)', handle: () => json(backend.secrets()) },
    { method: 'GET', path: '/memory', help: 'memory use of the agent thread (envoy.admin.v3.Memory; total_physical_bytes is the process RSS)', handle: () => json(memoryInfo()) },
    { method: 'GET', path: '/logging', help: 'the log level', handle: (_body, raw) => loggingReply(backend, new URLSearchParams(raw), false) },
    { method: 'POST', path: '/logging', help: 'POST ?level=LEVEL: change the log level of every thread at run time', handle: (_body, raw) => loggingReply(backend, new URLSearchParams(raw), true) },
    {
      method: 'POST', path: '/drain_listeners', help: 'stop accepting connections (open ones keep being served); /ready then fails',
      handle: () => {
        backend.drainListeners();
        return reply(200, TEXT, 'OK\n');
      },
    },
    {
      method: 'POST', path: '/quitquitquit', help: 'drain and exit',
      handle: () => {
        setImmediate(() => backend.quit()); // answer first; the shutdown closes this server
        return reply(200, TEXT, 'OK\n');
      },
    },
  ];
  if (enableDebugEndpoints) {
    routes.push({
      method: 'POST', path: '/debug/crash_worker', help: 'POST ?id=N: terminate worker N (it is restarted)',
      handle: (_body, query) => {
        const raw = new URLSearchParams(query).get('id') ?? '';
        if (!/^\d+$/.test(raw)) return reply(400, TEXT, 'expected ?id=<worker id>\n');
        if (backend.threadModel !== 'worker-threads' && raw === '0') {
          const why = backend.threadModel === 'main-thread' ? '--workers 1' : '--main-thread-data-plane';
          return reply(409, TEXT, `worker 0's data plane runs on the main thread (${why}): there is no worker thread to end; a crash there ends the process\n`);
        }
        return backend.crashWorker(Number(raw)) ? reply(200, TEXT, 'OK\n') : reply(404, TEXT, `no live worker ${raw}\n`);
      },
    });
  }
  const index = helpText(routes);
  routes.push(
    { method: 'GET', path: '/', help: 'this list', handle: () => reply(200, TEXT, index) },
    { method: 'GET', path: '/help', help: 'this list', handle: () => reply(200, TEXT, index) },
  );
  return routes;
}

/** Envoy's /help layout: "admin commands are:" then `  /path: what it does`, mutations marked (POST). */
function helpText(routes: readonly HelpedRoute[]): string {
  const lines = [...routes, { method: 'GET', path: '/help', help: 'this list' } as HelpedRoute]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.method < b.method ? -1 : 1))
    .map((r) => `  ${r.path}${r.method === 'POST' ? ' (POST)' : ''}: ${r.help}`);
  return `admin commands are:\n${lines.join('\n')}\n`;
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
