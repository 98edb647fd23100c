// `isthmus proxy` for the end-to-end tests, run as a user runs it
// (bin/isthmus.js over the compiled dist/, so `npx tsc -p .` first), with the
// Envoy-shaped bootstraps it reads and helpers for its admin API. The
// upstreams and clients on the other sides live in peers.ts and are
// re-exported here, so a test imports everything from this one module.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CLI, ROOT, spawnIsthmus, waitFor, type LogLine } from '../support/isthmus-process.js';
import { request, type HttpResult } from './peers.js';

export * from './peers.js';
export { CLI, ROOT, waitFor, type LogLine };

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `isthmus-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Replaces the file the way editors do (write a temp file, rename over). */
export function replaceFile(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

// ---------------------------------------------------------------- bootstrap

export interface ClusterSpec {
  readonly name: string;
  /** Endpoints on 127.0.0.1. */
  readonly ports: readonly number[];
  readonly lb_policy?: string;
  readonly connect_timeout?: string;
}

export interface ListenerSpec {
  /** Port of the 'outbound' listener (default 0: any free port). */
  readonly listenerPort?: number;
  /** Further port-0 listeners, each with the same route config. */
  readonly extraListeners?: readonly string[];
}

/** Further fields of an httpListener: of its HTTP connection manager (codec_type, timeouts...) and its filter chain. */
export interface HttpListenerExtras {
  readonly hcm?: Record<string, unknown>;
  readonly transportSocket?: Record<string, unknown>;
}

/** A listener on 127.0.0.1:`port` whose HTTP connection manager routes by `routeConfig` (route_config 'local'). */
export function httpListener(name: string, port: number, routeConfig: Record<string, unknown>, extras: HttpListenerExtras = {}): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [{
      ...(extras.transportSocket !== undefined ? { transport_socket: extras.transportSocket } : {}),
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: name,
          ...extras.hcm,
          route_config: { name: 'local', ...routeConfig },
        },
      }],
    }],
  };
}

/** A listener `name` on 127.0.0.1, any free port, whose HCM (stat_prefix `name`, plus `extras`) routes every host by
 *  `routes`. */
export function hcmListener(name: string, routes: readonly unknown[], extras: HttpListenerExtras = {}): Record<string, unknown> {
  return httpListener(name, 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes }] }, extras);
}

/** A route of every path under `prefix` to `cluster`, with an optional route timeout. */
export function prefixRoute(prefix: string, cluster: string, timeout?: string): Record<string, unknown> {
  return { match: { prefix }, route: timeout === undefined ? { cluster } : { cluster, timeout } };
}

/** A static bootstrap: listener 'outbound' (and `extraListeners`) on 127.0.0.1 routed by `routeConfig`, and these clusters. */
export function bootstrapWith(
  routeConfig: Record<string, unknown>,
  clusters: readonly ClusterSpec[],
  l: ListenerSpec = {},
): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [
        httpListener('outbound', l.listenerPort ?? 0, routeConfig),
        ...(l.extraListeners ?? []).map((n) => httpListener(n, 0, routeConfig)),
      ],
      clusters: clusters.map((c) => ({
        name: c.name,
        type: 'STATIC',
        connect_timeout: c.connect_timeout ?? '1s',
        ...(c.lb_policy ? { lb_policy: c.lb_policy } : {}),
        load_assignment: {
          cluster_name: c.name,
          endpoints: [{
            lb_endpoints: c.ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })),
          }],
        },
      })),
    },
  };
}

export interface TaggedBootstrapOptions extends ListenerSpec {
  readonly upstreamPort: number;
  /** The body of GET /version (a direct_response) and the x-config header of every proxied response. */
  readonly tag: string;
}

/** One cluster 'backend'; the tag shows which config version served a request (for reload tests). */
export function taggedBootstrap(o: TaggedBootstrapOptions): Record<string, unknown> {
  const routes = [
    { match: { path: '/version' }, direct_response: { status: 200, body: { inline_string: o.tag } } },
    {
      match: { prefix: '/' },
      route: { cluster: 'backend', timeout: '10s' },
      response_headers_to_add: [{ header: { key: 'x-config', value: o.tag } }],
    },
  ];
  return bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes }] }, [
    { name: 'backend', ports: [o.upstreamPort], lb_policy: 'ROUND_ROBIN' },
  ], o);
}

/** YAML text of a bootstrap (text passes through), laid out as people write Envoy configs: unindented lists, no anchors. */
export function bootstrapYaml(bootstrap: unknown): string {
  return typeof bootstrap === 'string' ? bootstrap : stringify(bootstrap, { indentSeq: false, lineWidth: 0, aliasDuplicateObjects: false });
}

// ---------------------------------------------------------------- proxy

export interface ProxyOptions {
  /** Written (as YAML unless already text) to bootstrap.yaml in the proxy's own temp dir... */
  readonly bootstrap?: unknown;
  /** ...or an existing file, which the test rewrites to reload. Exactly one of the two, unless `control` is given. */
  readonly bootstrapPath?: string;
  /** `--control HOST:PORT`: the config comes from this control plane (a bootstrap is then optional). */
  readonly control?: string;
  /** Default: `data` in the proxy's temp dir. */
  readonly dataDir?: string;
  readonly workers?: number;
  readonly args?: readonly string[];
  /** 'file' writes it to `access.log` in the proxy's temp dir. Default 'off'. */
  readonly accessLog?: 'off' | 'stdout' | 'file';
  readonly readyTimeoutMs?: number;
  /** Environment variables for the proxy, on top of the runner's minus ISTHMUS_* (isthmus-process.ts cleanEnv). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RunningProxy {
  readonly child: ChildProcess;
  /** The proxy's temp dir (bootstrap, data, access.log unless given elsewhere); removed by stop(). */
  readonly dir: string;
  readonly bootstrapPath: string;
  /** Listener name -> real port, from the "proxy ready" line. */
  readonly ports: ReadonlyMap<string, number>;
  /** The first listener's port (0 when there is none). */
  readonly port: number;
  readonly adminPort: number;
  /** stdout, one parsed JSON line each (`{ msg: text }` for a line that is not JSON). */
  readonly lines: readonly LogLine[];
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) unless exited, waits (SIGKILL after timeoutMs), removes `dir`; returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist', 'workers', 'worker-main.js'))) {
    throw new Error('dist/ is missing: run `npx tsc -p .` first (npm test does)');
  }
}

/**
 * `ISTHMUS_TRANSPORT=node npx vitest run` runs the suite's proxies on that transport (native is the default; the proxy itself never sees
 * the test runner's ISTHMUS_* variables: cleanEnv), unless a test picks one with its own --transport.
 */
export function transportArgs(args: readonly string[]): string[] {
  const kind = process.env.ISTHMUS_TRANSPORT;
  return kind !== undefined && kind !== '' && !args.includes('--transport') ? ['--transport', kind] : [];
}

export async function startProxy(o: ProxyOptions): Promise<RunningProxy> {
  if (o.bootstrap !== undefined && o.bootstrapPath !== undefined) throw new Error('startProxy: give at most one of `bootstrap` and `bootstrapPath`');
  if (o.bootstrap === undefined && o.bootstrapPath === undefined && o.control === undefined) {
    throw new Error('startProxy: give `bootstrap`, `bootstrapPath` or `control`');
  }
  requireBuild();
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-e2e-'));
  const bootstrapPath = o.bootstrapPath ?? join(dir, 'bootstrap.yaml');
  if (o.bootstrap !== undefined) writeFileSync(bootstrapPath, bootstrapYaml(o.bootstrap));
  const accessLog = o.accessLog === 'file' ? join(dir, 'access.log') : (o.accessLog ?? 'off');
  const source = o.bootstrap === undefined && o.bootstrapPath === undefined ? [] : ['--bootstrap', bootstrapPath];
  if (o.control !== undefined) source.push('--control', o.control);
  const args = ['proxy', ...source, '--admin-port', '0', '--data-dir', o.dataDir ?? join(dir, 'data'),
    '--workers', String(o.workers ?? 1), '--access-log', accessLog, ...transportArgs(o.args ?? []), ...(o.args ?? [])];
  const proc = await spawnIsthmus(args, { cwd: ROOT, readyMsg: 'proxy ready', readyTimeoutMs: o.readyTimeoutMs, env: o.env }).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const { child, lines, exited, ready } = proc;
  const listeners = ready.listeners as { name: string; port: number }[];
  return {
    child,
    dir,
    bootstrapPath,
    ports: new Map(listeners.map((l) => [l.name, l.port])),
    port: listeners[0]?.port ?? 0,
    adminPort: (ready.admin as { port: number }).port,
    lines,
    stderr: proc.stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) {
      const code = await proc.stop(signal, timeoutMs);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// ---------------------------------------------------------------- admin API

/** GET, or a POST as curl sends one with the header that marks a tool (cross-origin pages cannot send it). */
export function admin(proxy: Pick<RunningProxy, 'adminPort'>, path: string, method = 'GET'): Promise<HttpResult> {
  return request(proxy.adminPort, path, { method, ...(method === 'POST' ? { headers: { 'x-isthmus-admin': '1' } } : {}) });
}

export interface ConfigDump {
  version: number;
  workers: { workerId: number; appliedVersion: number; state: string; restarts: number }[];
  configRejectedTotal: number;
  lastRejected: { problems: string[]; reason: string } | null;
  bootstrap: { listeners: { name: string; address: { port: number } }[] } | null;
}

export async function configDump(proxy: Pick<RunningProxy, 'adminPort'>): Promise<ConfigDump> {
  return JSON.parse((await admin(proxy, '/debug/config_dump')).body) as ConfigDump;
}

/** Value of one sample in Prometheus text, by exact `name{labels}` or bare name. */
export function metric(text: string, nameWithLabels: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (line.slice(0, space) === nameWithLabels) return Number(line.slice(space + 1));
  }
  return undefined;
}

/** Sum of every sample of `name` whose labels contain all of `labels` (e.g. 'response_code="200"'). */
export function metricSum(text: string, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!labels.every((l) => line.includes(l))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// ---------------------------------------------------------------- mesh sidecars

export interface SidecarOptions {
  readonly service: string;
  readonly namespace?: string;
  readonly version?: string;
  /** The app behind it: the sidecar then registers as an endpoint of `service` (port 9080) through its inbound listener. */
  readonly appPort?: number;
  readonly workers?: number;
  readonly protocol?: 'delta' | 'sotw';
  readonly args?: readonly string[];
}

/** `isthmus proxy --control` as a sidecar: outbound (and inbound, with an app) on free ports announced to the control plane. */
export function startSidecar(xdsPort: number, o: SidecarOptions): Promise<RunningProxy> {
  const args = ['--service', o.service, '--namespace', o.namespace ?? 'default', '--outbound-port', '0', '--xds-protocol', o.protocol ?? 'delta',
    '--drain-timeout', '1s', ...(o.version !== undefined ? ['--version', o.version] : []),
    ...(o.appPort !== undefined ? ['--app-port', String(o.appPort), '--service-port', '9080', '--inbound-port', '0'] : []), ...(o.args ?? [])];
  return startProxy({ control: `127.0.0.1:${xdsPort}`, workers: o.workers ?? 1, args });
}

/** The port of a sidecar's outbound listener (from its "proxy ready" line). */
export function outboundPort(proxy: RunningProxy): number {
  const port = proxy.ports.get('outbound');
  if (port === undefined) throw new Error(`no outbound listener in ${JSON.stringify([...proxy.ports])}`);
  return port;
}
