// The `uws-front` bench scenario: Isthmus's routing (parseBootstrap +
// RouteTable) behind a uWebSockets.js listener instead of the native parser
// and net sockets, forwarding with node:http and a keep-alive Agent. Issue 2
// keeps uWS off the data plane (its parser fails most of the malformed-input
// corpus); this scenario keeps that choice measured. Deliberately small: no
// retries, no timeouts beyond the Agent's, no header mutations.
// Usage: node uws-front-server.js --upstream-port N ; prints {"msg":"uws-front ready","port":N}.
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { parseBootstrap } from '../src/config/parse-bootstrap.js';
import type { Endpoint } from '../src/config/bootstrap-types.js';
import { RouteTable, type CompiledRoute } from '../src/routing/route-table.js';
import { uws, type HttpResponse, type us_listen_socket } from '../src/uws.js';
import { benchBootstrapYaml } from './isthmus-target.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'date']);

const upstreamPortArg = process.argv.indexOf('--upstream-port');
const upstreamPort = Number(process.argv[upstreamPortArg + 1]);
if (upstreamPortArg < 0 || !Number.isInteger(upstreamPort) || upstreamPort <= 0) {
  process.stderr.write('uws-front-server: --upstream-port N is required\n');
  process.exit(2);
}

const bootstrap = parseBootstrap(benchBootstrapYaml(upstreamPort), 'uws-front bootstrap');
const table = RouteTable.compile(bootstrap.listeners[0]!.routeConfig);
const endpoints = new Map<string, readonly Endpoint[]>(bootstrap.clusters.map((c) => [c.name, c.endpoints]));
const cursors = new Map<string, number>();
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** Round robin over the cluster's endpoints (weights ignored: the bench cluster has one). */
function pickEndpoint(cluster: string): Endpoint | undefined {
  const list = endpoints.get(cluster);
  if (list === undefined || list.length === 0) return undefined;
  const i = cursors.get(cluster) ?? 0;
  cursors.set(cluster, (i + 1) % list.length);
  return list[i];
}

function reply(res: HttpResponse, state: { aborted: boolean }, status: string, body: string): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(status).end(body);
  });
}

function forward(res: HttpResponse, state: { aborted: boolean }, route: CompiledRoute, method: string, target: string, headers: Record<string, string>, body: Buffer | null): void {
  const endpoint = pickEndpoint(route.pickCluster(Math.random()));
  if (endpoint === undefined) {
    reply(res, state, '503 Service Unavailable', 'no healthy upstream\n');
    return;
  }
  const upstream = httpRequest({ agent, host: endpoint.address, port: endpoint.port, method, path: target, headers }, (answer: IncomingMessage) => {
    const chunks: Buffer[] = [];
    answer.on('data', (chunk: Buffer) => chunks.push(chunk));
    answer.on('end', () => {
      if (state.aborted) return;
      res.cork(() => {
        res.writeStatus(`${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`);
        const raw = answer.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) {
          if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) res.writeHeader(raw[i]!, raw[i + 1]!);
        }
        res.end(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      });
    });
  });
  upstream.on('error', () => reply(res, state, '502 Bad Gateway', 'upstream connect error or disconnect/reset before headers\n'));
  upstream.end(body ?? undefined);
}

const app = uws.App();
app.any('/*', (res, req) => {
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  // uWS's request object is valid only in this callback: copy what routing and forwarding need.
  const method = req.getCaseSensitiveMethod();
  const path = req.getUrl();
  const query = req.getQuery() ?? '';
  const headers: Record<string, string> = {};
  const flat: string[] = [];
  req.forEach((name, value) => {
    flat.push(name, value);
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  });
  const route = table.match({ method, path, query, authority: (headers.host ?? '').toLowerCase(), headers: flat });
  if (route === null) {
    reply(res, state, '404 Not Found', '');
    return;
  }
  const action = route.route.action;
  if (action.type === 'direct_response') {
    reply(res, state, `${action.status} `, action.body ?? '');
    return;
  }
  if (action.type === 'redirect') {
    reply(res, state, '501 Not Implemented', 'redirects are not part of the uws-front bench\n');
    return;
  }
  const target = query === '' ? path : `${path}?${query}`;
  if (method === 'GET' || method === 'HEAD') {
    forward(res, state, route, method, target, headers, null);
    return;
  }
  const parts: Buffer[] = [];
  res.onData((chunk, isLast) => {
    parts.push(Buffer.from(chunk.slice(0))); // uWS reuses the chunk's memory after this call
    if (isLast) forward(res, state, route, method, target, headers, Buffer.concat(parts));
  });
});

let listenSocket: us_listen_socket | null = null;
app.listen('127.0.0.1', 0, (socket) => {
  if (socket === false) {
    process.stderr.write('uws-front-server: cannot listen on 127.0.0.1\n');
    process.exit(1);
  }
  listenSocket = socket;
  const port = uws.us_socket_local_port(socket as unknown as Parameters<typeof uws.us_socket_local_port>[0]);
  process.stdout.write(`${JSON.stringify({ msg: 'uws-front ready', port })}\n`);
});

function stop(): void {
  // uWS aborts the process at exit while a listen socket is open: close it first.
  if (listenSocket !== null) uws.us_listen_socket_close(listenSocket);
  listenSocket = null;
  agent.destroy();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
