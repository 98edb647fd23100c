// WebSocket and CONNECT through the proxy, as Envoy's connection manager
// treats upgrades: with upgrade_configs listing websocket, a `ws` client's
// upgrade reaches a `ws` server and frames flow both ways through the
// tunnel (both transports); without it the Upgrade header is stripped (the
// upstream sees a plain GET); a route that disables it gets 403; CONNECT is
// refused (404) unless configured.
import * as http from 'node:http';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startProxy, type RunningProxy } from './harness.js';
import { startTcpEcho, tcpCluster, type TcpServer } from '../support/tcp-peers.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function listener(name: string, upgrades: readonly Record<string, unknown>[] | null, routeUpgrades: readonly Record<string, unknown>[] | null, cluster = 'ws'): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM,
          stat_prefix: name,
          ...(upgrades !== null ? { upgrade_configs: upgrades } : {}),
          route_config: {
            name: 'local',
            virtual_hosts: [{
              name: 'all', domains: ['*'],
              routes: [{ match: { prefix: '/' }, route: { cluster, ...(routeUpgrades !== null ? { upgrade_configs: routeUpgrades } : {}) } }],
            }],
          },
        },
      }],
    }],
  };
}

interface WsUpstream {
  readonly port: number;
  /** Upgrade headers of plain (non-upgraded) requests the server saw. */
  readonly plainUpgradeHeaders: (string | undefined)[];
  close(): Promise<void>;
}

async function startWsEcho(): Promise<WsUpstream> {
  const plainUpgradeHeaders: (string | undefined)[] = [];
  const server = http.createServer((req, res) => {
    plainUpgradeHeaders.push(req.headers.upgrade);
    res.end('plain');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    plainUpgradeHeaders,
    close: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Opens a WebSocket; resolves with it, or with the HTTP status of a refused upgrade. */
function openWs(port: number): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = net.connect(port, '127.0.0.1', () => s.write(text));
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
      if (got.includes('\r\n\r\n')) s.destroy();
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

describe.each(['node', 'native'] as const)('WebSocket and CONNECT (%s transport)', { timeout: 60_000 }, (transport) => {
  let upstream: WsUpstream;
  let echo: TcpServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    upstream = await startWsEcho();
    echo = await startTcpEcho();
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: {
        static_resources: {
          listeners: [
            listener('ws', [{ upgrade_type: 'websocket' }], null),
            listener('plain', null, null),
            listener('off', [{ upgrade_type: 'websocket' }], [{ upgrade_type: 'websocket', enabled: false }]),
            listener('tunnel', [{ upgrade_type: 'CONNECT' }], null, 'echo'),
          ],
          clusters: [tcpCluster('ws', [upstream.port]), tcpCluster('echo', [echo.port])],
        },
      },
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
    await echo?.close();
  });

  it('relays a WebSocket session: 200 text messages and a 1 MB binary one echo back intact', async () => {
    const ws = await openWs(proxy.ports.get('ws')!);
    expect(ws).toBeInstanceOf(WebSocket);
    const socket = ws as WebSocket;
    const received: (string | Buffer)[] = [];
    const done = new Promise<void>((resolve) => {
      socket.on('message', (data: Buffer, binary: boolean) => {
        received.push(binary ? data : data.toString());
        if (received.length === 201) resolve();
      });
    });
    for (let i = 0; i < 200; i++) socket.send(`message ${i}`);
    const big = randomBytes(1024 * 1024);
    socket.send(big, { binary: true });
    await done;
    expect(received.slice(0, 200)).toEqual(Array.from({ length: 200 }, (_, i) => `message ${i}`));
    expect((received[200] as Buffer).equals(big)).toBe(true);
    const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
    socket.close(1000);
    expect(await closed).toBe(1000);
  });

  it('without upgrade_configs the Upgrade header is stripped: the upstream sees a plain request', async () => {
    const before = upstream.plainUpgradeHeaders.length;
    const result = await openWs(proxy.ports.get('plain')!);
    // The upstream answered the plain GET (200 "plain"), which is no WebSocket handshake.
    expect(result).toBe(200);
    expect(upstream.plainUpgradeHeaders.length).toBe(before + 1);
    expect(upstream.plainUpgradeHeaders[before]).toBeUndefined();
  });

  it('a route that disables the upgrade gets 403', async () => {
    expect(await openWs(proxy.ports.get('off')!)).toBe(403);
  });

  it('refuses CONNECT unless configured (404)', async () => {
    const answer = await rawRequest(proxy.ports.get('ws')!, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 404 /);
  });

  it('with upgrade_configs CONNECT answers 200 once the upstream connected, then tunnels bytes', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = net.connect(proxy.ports.get('tunnel')!, '127.0.0.1', () => s.write('CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n'));
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        text += d;
        if (text.endsWith('\r\n\r\n')) s.write('ping through the tunnel');
        if (text.endsWith('ping through the tunnel')) s.end();
      });
      s.on('error', reject);
      s.on('close', () => resolve(text));
    });
    expect(got).toBe('HTTP/1.1 200 OK\r\n\r\nping through the tunnel');
  });
});
