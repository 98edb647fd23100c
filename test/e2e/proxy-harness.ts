// Shared by the proxy end-to-end tests: a node:http upstream, a bootstrap
// writer, and `isthmus proxy` as a real child process (bin/isthmus.js over
// the compiled dist/) whose JSON log lines are collected and whose ports are
// read from its "proxy ready" line.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isthmus.js');

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist', 'workers', 'worker-main.js'))) {
    throw new Error('dist/ is missing or stale: run `npx tsc -p .` first (npm test does)');
  }
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `isthmus-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------- upstream

export interface Upstream {
  readonly port: number;
  /** Requests the upstream has received. */
  readonly received: () => number;
  close(): Promise<void>;
}

/** 200 with a small text body; `/slow?ms=N` answers after N ms (bounded to 10 s). */
export async function startUpstream(): Promise<Upstream> {
  let received = 0;
  const server = http.createServer((req, res) => {
    received++;
    const url = new URL(req.url ?? '/', 'http://upstream');
    const delay = url.pathname === '/slow' ? Math.min(Number(url.searchParams.get('ms') ?? '1000'), 10_000) : 0;
    const answer = (): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`upstream ${url.pathname}\n`);
    };
    req.resume();
    req.on('end', () => (delay > 0 ? setTimeout(answer, delay) : answer()));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    received: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------- bootstrap

export interface BootstrapOptions {
  readonly upstreamPort: number;
  /** Returned by GET /version (direct_response) and in the x-config response header of proxied routes. */
  readonly tag: string;
  readonly listenerPort?: number;
  /** Extra route entries (YAML, indented for the routes list) placed before the catch-all. */
  readonly extraRoutes?: string;
}

export function bootstrapYaml(o: BootstrapOptions): string {
  return `static_resources:
  listeners:
  - name: outbound
    address: { socket_address: { address: 127.0.0.1, port_value: ${o.listenerPort ?? 0} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound
          route_config:
            name: local
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { path: "/version" }
                direct_response: { status: 200, body: { inline_string: "${o.tag}" } }
${o.extraRoutes ?? ''}              - match: { prefix: "/" }
                route: { cluster: backend, timeout: 10s }
                response_headers_to_add:
                - header: { key: x-config, value: "${o.tag}" }
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${o.upstreamPort} } } }
`;
}

/** Replaces the file the way editors do (write a temp file, rename over). */
export function replaceFile(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

// ---------------------------------------------------------------- proxy

export interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly [key: string]: unknown;
}

export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly adminPort: number;
  /** Listener name -> real port. */
  readonly ports: ReadonlyMap<string, number>;
  readonly lines: readonly LogLine[];
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** SIGTERM (or the given signal) and wait for exit, bounded by timeoutMs (then SIGKILL). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface StartProxyOptions {
  readonly bootstrapPath: string;
  readonly dataDir: string;
  readonly workers?: number;
  readonly args?: readonly string[];
  readonly readyTimeoutMs?: number;
}

export async function startProxy(o: StartProxyOptions): Promise<ProxyProcess> {
  requireBuild();
  const args = [BIN, 'proxy', '--bootstrap', o.bootstrapPath, '--admin-port', '0', '--data-dir', o.dataDir,
    '--workers', String(o.workers ?? 1), '--access-log', 'off', ...(o.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ISTHMUS_LOG_LEVEL: '' } });
  const lines: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  let onLine: ((line: LogLine) => void) | null = null;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const ready = await new Promise<LogLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`proxy not ready within ${o.readyTimeoutMs ?? 15_000} ms\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`));
    }, o.readyTimeoutMs ?? 15_000);
    onLine = (line) => {
      if (line.msg === 'proxy ready') {
        clearTimeout(timer);
        resolve(line);
      }
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code} before ready\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`));
    });
  });
  onLine = null;
  const listeners = ready.listeners as { name: string; port: number }[];
  const admin = ready.admin as { port: number };
  return {
    child,
    adminPort: admin.port,
    ports: new Map(listeners.map((l) => [l.name, l.port])),
    lines,
    stderr: () => stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

// ---------------------------------------------------------------- clients

export interface HttpResult {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** One request on its own connection (or on `agent`), bounded by timeoutMs. */
export function request(
  port: number,
  path: string,
  options: { method?: string; agent?: http.Agent; timeoutMs?: number; headers?: http.OutgoingHttpHeaders } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent: options.agent ?? false, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error(`${options.method ?? 'GET'} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export function admin(proxy: ProxyProcess, path: string, method = 'GET'): Promise<HttpResult> {
  return request(proxy.adminPort, path, { method });
}

export async function configDump(proxy: ProxyProcess): Promise<{
  version: number;
  workers: { workerId: number; appliedVersion: number; state: string; restarts: number }[];
  configRejectedTotal: number;
  lastRejected: { problems: string[]; reason: string } | null;
  bootstrap: { listeners: { name: string; address: { port: number } }[] } | null;
}> {
  return JSON.parse((await admin(proxy, '/config_dump')).body);
}

/** Polls `check` every 25 ms until it returns a truthy value or timeoutMs passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Value of one sample in Prometheus text, by exact `name{labels}` prefix match or bare name. */
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
