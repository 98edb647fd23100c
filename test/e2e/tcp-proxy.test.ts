// envoy.filters.network.tcp_proxy through a real proxy on both transports (and
// with two workers): bytes relayed intact with half-close both ways, weighted
// clusters, idle_timeout, max_connect_attempts over a dead host, the
// max_connections circuit breaker, and the Istio/Envoy TCP metrics.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, closedPort, metricSum, startProxy, type RunningProxy } from './harness.js';
import {
  exchange, startHashingSink, startNamedServer, startTcpEcho, tcpCluster, tcpListener, type TcpServer,
} from '../support/tcp-peers.js';

/** The resident set of a process, from /proc. */
function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
  return Number(m![1]) * 1024;
}

/** Sends `data` and resolves with how many bytes came back before the proxy closed (or reset: the bytes sent were never read). */
async function refusedBytes(port: number, data: string): Promise<number> {
  const got = await exchange(port, data, 10_000).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') return Buffer.alloc(0);
    throw err;
  });
  return got.length;
}

const MODES = [
  { transport: 'node', workers: 1 },
  { transport: 'native', workers: 2 },
] as const;

describe.each(MODES)('tcp_proxy ($transport transport, $workers workers)', { timeout: 60_000 }, ({ transport, workers }) => {
  let echo: TcpServer;
  let sink: TcpServer;
  let a: TcpServer;
  let b: TcpServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    [echo, sink, a, b] = await Promise.all([startTcpEcho(), startHashingSink(), startNamedServer('A'), startNamedServer('B')]);
    const dead = await closedPort();
    proxy = await startProxy({
      workers,
      args: ['--transport', transport],
      accessLog: 'file',
      bootstrap: {
        static_resources: {
          listeners: [
            tcpListener('echo', { cluster: 'echo' }),
            tcpListener('sink', { cluster: 'sink' }),
            tcpListener('split', { weighted: [{ name: 'a', weight: 80 }, { name: 'b', weight: 20 }] }),
            tcpListener('idle', { cluster: 'echo', idleTimeout: '0.5s' }),
            // One dead host and one live one: the second attempt reaches the live host.
            tcpListener('retry', { cluster: 'half-dead', maxConnectAttempts: 2 }),
            tcpListener('limited', { cluster: 'limited' }),
            tcpListener('nowhere', { cluster: 'all-dead' }),
          ],
          clusters: [
            tcpCluster('echo', [echo.port]),
            tcpCluster('sink', [sink.port]),
            tcpCluster('a', [a.port]),
            tcpCluster('b', [b.port]),
            tcpCluster('half-dead', [dead, echo.port]),
            tcpCluster('limited', [echo.port], { circuit_breakers: { thresholds: [{ max_connections: 1 }] } }),
            tcpCluster('all-dead', [dead]),
          ],
        },
      },
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([echo, sink, a, b].map((s) => s?.close()));
  });

  it('echoes 8 MB intact, relays the client FIN to the upstream and the upstream FIN back', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    const got = await exchange(proxy.ports.get('echo')!, data);
    expect(got.length).toBe(data.length);
    expect(got.equals(data)).toBe(true);
  });

  it('streams 1 GB to the upstream intact (the upstream reports its length and sha256)', async () => {
    const total = 1024 * 1024 * 1024;
    const piece = randomBytes(1024 * 1024);
    const hash = createHash('sha256');
    for (let i = 0; i < total / piece.length; i++) hash.update(piece);
    const expected = `${total} ${hash.digest('hex')}`;
    const answer = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = net.connect({ port: proxy.ports.get('sink')!, host: '127.0.0.1', allowHalfOpen: true }, () => {
        let sent = 0;
        const pump = (): void => {
          while (sent < total) {
            sent += piece.length;
            const more = socket.write(piece);
            if (sent === total) socket.end();
            if (!more) return;
          }
        };
        socket.on('drain', pump);
        pump();
      });
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    expect(answer).toBe(expected);
  }, 180_000);

  it('a slow reader stops the upstream: the proxy holds only a bounded amount', async () => {
    // The echo upstream sends back what the client writes; the client reads nothing for a while.
    const rssBefore = rssBytes(proxy.child.pid!);
    const socket = net.connect({ port: proxy.ports.get('echo')!, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.pause();
    const piece = randomBytes(256 * 1024);
    let accepted = 0;
    // Write until the whole chain (client socket, proxy, echo upstream, proxy, client receive buffer) pushes back.
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline && accepted < 512 * 1024 * 1024) {
      if (socket.write(piece)) {
        accepted += piece.length;
        continue;
      }
      accepted += piece.length;
      const drained = await Promise.race([
        new Promise<boolean>((resolve) => socket.once('drain', () => resolve(true))),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
      ]);
      if (!drained) break;
    }
    // Without backpressure the proxy would read all 512 MB; with it, kernel buffers and high-water marks hold it.
    expect(accepted).toBeLessThan(128 * 1024 * 1024);
    expect(rssBytes(proxy.child.pid!) - rssBefore).toBeLessThan(64 * 1024 * 1024);
    socket.destroy();
  });

  it('splits connections by weighted_clusters', async () => {
    const counts = { A: 0, B: 0 } as Record<string, number>;
    for (let i = 0; i < 100; i++) {
      const name = (await exchange(proxy.ports.get('split')!, '')).toString('latin1');
      counts[name] = (counts[name] ?? 0) + 1;
    }
    expect(counts.A! + counts.B!).toBe(100);
    expect(counts.A).toBeGreaterThan(55);
    expect(counts.B).toBeGreaterThan(3);
  });

  it('closes a connection idle for idle_timeout and counts it', async () => {
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ port: proxy.ports.get('idle')!, host: '127.0.0.1' }, () => socket.write('x'));
      socket.resume();
      socket.on('error', () => {});
      socket.on('close', () => resolve());
      setTimeout(() => reject(new Error('not closed in 10 s')), 10_000);
    });
    const ms = Date.now() - started;
    expect(ms).toBeGreaterThanOrEqual(400);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_tcp_idle_timeout', 'envoy_tcp_prefix="idle"')).toBeGreaterThanOrEqual(1);
  });

  it('tries another host after a connect failure (max_connect_attempts) and counts the failure', async () => {
    for (let i = 0; i < 6; i++) {
      const got = await exchange(proxy.ports.get('retry')!, `hello ${i}`);
      expect(got.toString()).toBe(`hello ${i}`);
    }
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_connect_fail', 'cluster_name="half-dead"')).toBeGreaterThanOrEqual(1);
  });

  it('closes the connection when every attempt fails', async () => {
    expect(await refusedBytes(proxy.ports.get('nowhere')!, 'x')).toBe(0);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_tcp_upstream_connect_attempts_exceeded', 'envoy_tcp_prefix="nowhere"')).toBeGreaterThanOrEqual(1);
  });

  it('max_connections: a second connection is refused while the first is open', async () => {
    const first = net.connect({ port: proxy.ports.get('limited')!, host: '127.0.0.1' });
    first.on('error', () => {});
    first.write('one');
    await new Promise<void>((resolve) => first.once('data', () => resolve()));
    expect(await refusedBytes(proxy.ports.get('limited')!, 'two')).toBe(0);
    first.destroy();
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_overflow', 'cluster_name="limited"')).toBeGreaterThanOrEqual(1);
  });

  it('reports istio_tcp_* and envoy_tcp_* metrics', async () => {
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'istio_tcp_connections_opened_total', 'destination_service="echo"')).toBeGreaterThanOrEqual(1);
    expect(metricSum(stats, 'istio_tcp_connections_closed_total', 'destination_service="echo"')).toBeGreaterThanOrEqual(1);
    expect(metricSum(stats, 'istio_tcp_received_bytes_total', 'destination_service="echo"')).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(metricSum(stats, 'istio_tcp_sent_bytes_total', 'destination_service="echo"')).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(metricSum(stats, 'istio_tcp_received_bytes_total', 'destination_service="sink"')).toBeGreaterThanOrEqual(1024 * 1024 * 1024);
    expect(metricSum(stats, 'envoy_tcp_downstream_cx_total', 'envoy_tcp_prefix="split"')).toBe(100);
  });
});
