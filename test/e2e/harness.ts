// Real processes on loopback for end-to-end tests: the proxy as a user runs
// it (bin/isthmus.js, compiled by `npm test`'s pretest), node:http upstreams,
// and raw TCP clients for requests no well-behaved client would send.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'bin', 'isthmus.js');

export interface RunningProxy {
  readonly proc: ChildProcess;
  readonly dir: string;
  readonly bootstrapPath: string;
  /** Listener ports by listener name. */
  readonly ports: Record<string, number>;
  /** The first listener's port. */
  readonly port: number;
  readonly adminPort: number;
  readonly output: string[];
  /** Rewrites the bootstrap file (the proxy picks it up by watching). */
  writeBootstrap(bootstrap: unknown): void;
  /** Waits for a log line containing `text`, starting from line `from`. */
  waitForOutput(text: string, timeoutMs?: number, from?: number): Promise<string>;
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ProxyOptions {
  workers?: number;
  args?: string[];
  /** 'file' writes it to `access.log` in the proxy's temp dir. */
  accessLog?: 'off' | 'stdout' | 'file';
}

function toYaml(bootstrap: unknown): string {
  return typeof bootstrap === 'string' ? bootstrap : stringify(bootstrap);
}

export async function startProxy(bootstrap: unknown, opts: ProxyOptions = {}): Promise<RunningProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-e2e-'));
  const bootstrapPath = join(dir, 'bootstrap.yaml');
  writeFileSync(bootstrapPath, toYaml(bootstrap));
  const args = [
    CLI, 'proxy',
    '--bootstrap', bootstrapPath,
    '--admin-port', '0',
    '--data-dir', join(dir, 'data'),
    '--workers', String(opts.workers ?? 1),
    '--access-log', opts.accessLog === 'file' ? join(dir, 'access.log') : (opts.accessLog ?? 'off'),
    '--log-level', 'info',
    ...(opts.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  let partial = '';
  const waiters = new Set<() => void>();
  const onChunk = (chunk: Buffer): void => {
    partial += chunk.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    output.push(...lines);
    for (const w of waiters) w();
  };
  proc.stdout!.on('data', onChunk);
  proc.stderr!.on('data', onChunk);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((res) => proc.on('exit', (code) => res((exitCode = code))));

  const waitForOutput = (text: string, timeoutMs = 10_000, from = 0): Promise<string> =>
    new Promise((res, rej) => {
      const check = (): boolean => {
        const line = output.slice(from).find((l) => l.includes(text));
        if (line !== undefined) {
          waiters.delete(onNew);
          clearTimeout(timer);
          res(line);
          return true;
        }
        if (exitCode !== undefined) {
          waiters.delete(onNew);
          clearTimeout(timer);
          rej(new Error(`proxy exited (${exitCode}) before printing "${text}":\n${output.join('\n')}`));
          return true;
        }
        return false;
      };
      const onNew = (): void => void check();
      const timer = setTimeout(() => {
        waiters.delete(onNew);
        rej(new Error(`timed out waiting for "${text}":\n${output.join('\n')}`));
      }, timeoutMs);
      waiters.add(onNew);
      void exited.then(onNew);
      check();
    });

  const ready = JSON.parse(await waitForOutput('"proxy ready"')) as {
    listeners: { name: string; port: number }[];
    admin: { port: number };
  };
  const ports: Record<string, number> = {};
  for (const l of ready.listeners) ports[l.name] = l.port;
  const adminPort = ready.admin.port;
  return {
    proc,
    dir,
    bootstrapPath,
    ports,
    port: ready.listeners[0]!.port,
    adminPort,
    output,
    writeBootstrap: (b) => writeFileSync(bootstrapPath, toYaml(b)),
    waitForOutput,
    admin: (path, init) => fetch(`http://127.0.0.1:${adminPort}${path}`, init),
    async stop(signal = 'SIGTERM') {
      if (exitCode === undefined) proc.kill(signal);
      const kill = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(kill);
      rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

export interface Upstream {
  readonly port: number;
  readonly server: http.Server;
  /** Requests seen, in order. */
  readonly seen: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** A node:http upstream on 127.0.0.1:0 that records what it saw; by default it answers 200 with `name`. */
export async function startUpstream(name: string, handler?: UpstreamHandler): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1'); // lossless for binary bodies
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (handler) handler(req, res, body);
      else {
        res.setHeader('x-upstream', name);
        res.end(name);
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    server,
    seen,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound and closed at once). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((res) => s.close(() => res()));
  return port;
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

/** A bootstrap with one listener on 127.0.0.1:0 whose route config is `routeConfig`, and these clusters. */
export function bootstrapWith(
  routeConfig: Record<string, unknown>,
  clusters: { name: string; ports: number[]; lb_policy?: string; connect_timeout?: string }[],
): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [
        {
          name: 'outbound',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type':
                      'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'outbound',
                    route_config: { name: 'local', ...routeConfig },
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: clusters.map((c) => ({
        name: c.name,
        type: 'STATIC',
        connect_timeout: c.connect_timeout ?? '1s',
        ...(c.lb_policy ? { lb_policy: c.lb_policy } : {}),
        load_assignment: {
          cluster_name: c.name,
          endpoints: [
            {
              lb_endpoints: c.ports.map((port) => ({
                endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
              })),
            },
          ],
        },
      })),
    },
  };
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 });

export interface SimpleResponse {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
}

/** A keep-alive request through node:http (unlike fetch, it lets a test set Host). */
export function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
  body?: string,
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
