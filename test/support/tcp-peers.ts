// Raw TCP peers and tcp_proxy config pieces for tests: an echo server that
// honours half-close, a server that names itself, and a listener whose one
// filter chain is a tcp_proxy.
import { createHash } from 'node:crypto';
import * as net from 'node:net';

export const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

export interface TcpServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

function wrap(server: net.Server, port: number, count: () => number): TcpServer {
  const open = new Set<net.Socket>();
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  return {
    port,
    accepted: count,
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Echoes every byte; after the client's FIN, sends what is left and then its own FIN (half-close both ways). */
export async function startTcpEcho(): Promise<TcpServer> {
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    n++;
    s.on('error', () => {});
    s.pipe(s);
  });
  return wrap(server, await listen(server), () => n);
}

/** Writes `name` and closes: which cluster a connection reached. */
export async function startNamedServer(name: string): Promise<TcpServer> {
  let n = 0;
  const server = net.createServer((s) => {
    n++;
    s.on('error', () => {});
    s.end(name);
  });
  return wrap(server, await listen(server), () => n);
}

/** Reads everything the client sends; after its FIN answers with "<bytes> <sha256 hex>" and closes. */
export async function startHashingSink(): Promise<TcpServer> {
  let n = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    n++;
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      bytes += c.length;
      hash.update(c);
    });
    s.on('end', () => s.end(`${bytes} ${hash.digest('hex')}`));
  });
  return wrap(server, await listen(server), () => n);
}

export interface TcpProxyOptions {
  readonly cluster?: string;
  readonly weighted?: readonly { readonly name: string; readonly weight: number }[];
  readonly idleTimeout?: string;
  readonly maxConnectAttempts?: number;
}

export function tcpProxyFilter(o: TcpProxyOptions, statPrefix = 'tcp'): Record<string, unknown> {
  return {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': TCP_PROXY_TYPE,
      stat_prefix: statPrefix,
      ...(o.cluster !== undefined ? { cluster: o.cluster } : {}),
      ...(o.weighted !== undefined ? { weighted_clusters: { clusters: o.weighted } } : {}),
      ...(o.idleTimeout !== undefined ? { idle_timeout: o.idleTimeout } : {}),
      ...(o.maxConnectAttempts !== undefined ? { max_connect_attempts: o.maxConnectAttempts } : {}),
    },
  };
}

/** A listener on 127.0.0.1:0 whose one filter chain is a tcp_proxy. */
export function tcpListener(name: string, o: TcpProxyOptions): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ filters: [tcpProxyFilter(o, name)] }],
  };
}

/** A STATIC cluster over these loopback ports. */
export function tcpCluster(name: string, ports: readonly number[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '1s',
    ...extra,
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: ports.map((port) => ({ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } })) }],
    },
  };
}

/** Sends `data` (then FIN), returns everything received until the proxy closes. */
export function exchange(port: number, data: Buffer | string, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => socket.end(data));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms (got ${Buffer.concat(chunks).length} bytes)`));
    }, timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}
