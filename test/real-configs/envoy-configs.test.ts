// The Envoy configurations in test/real-configs/envoy/, written the way
// Envoy's documentation and sandboxes write them, each started as a user
// starts it: the file unmodified apart from its port numbers (listen ports and
// the ports of the test's own upstreams and DNS server, all on loopback).
// Upstream names resolve on loopback: `localhost`, or a DNS server the test runs.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, replyName, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from '../e2e/harness.js';
import { startTestDnsServer, type TestDnsServer } from '../support/test-dns-server.js';
import WebSocket, { WebSocketServer } from 'ws';
import { startTcpEcho } from '../support/tcp-peers.js';

const DIR = join(ROOT, 'test', 'real-configs', 'envoy');

/** The file with each `port_value: N` replaced by map[N]; every port in it must be mapped (nothing binds a fixed port). */
function withPorts(file: string, map: Record<number, number>): string {
  const text = readFileSync(join(DIR, file), 'utf8');
  return text.replace(/port_value: (\d+)/g, (_m, port: string) => {
    const to = map[Number(port)];
    if (to === undefined) throw new Error(`${file}: port ${port} is not mapped by the test`);
    return `port_value: ${to}`;
  });
}

/** A port on 127.0.0.1 free a moment ago (for a listener another part of the same file points at). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

let proxy: RunningProxy | undefined;
let upstreams: Upstream[] = [];
let dns: TestDnsServer | undefined;
/** Servers other than startUpstream's (a WebSocket echo), closed after each test. */
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
  await dns?.close();
  dns = undefined;
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A GET whose body comes back as bytes (a compressed body is no UTF-8). */
function getBytes(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

async function upstream(name: string): Promise<Upstream> {
  const u = await startUpstream((req, res) => {
    if (req.url === '/healthz') res.end('ok');
    else replyName(name)(req, res, '');
  });
  upstreams.push(u);
  return u;
}

describe('Envoy-style configurations start unmodified apart from ports', () => {
  it('front-proxy.yaml: path routing to two DNS-named services; the runtime key it does not use is named once', async () => {
    const [one, two] = await Promise.all([upstream('service1'), upstream('service2')]);
    proxy = await startProxy({ bootstrap: withPorts('front-proxy.yaml', { 8080: 0, 8000: one.port, 8001: two.port, 9901: 0 }) });
    expect((await request(proxy.port, '/service/1')).body).toBe('service1');
    expect((await request(proxy.port, '/service/2')).body).toBe('service2');
    expect(proxy.lines.filter((l) => String(l.msg).startsWith('layered_runtime:')).map((l) => l.msg)).toEqual([
      'layered_runtime: 1 key(s) not used by this proxy: envoy.resource_limits.listener.example_listener_name.connection_limit',
    ]);
  }, 20_000);

  it('welcome-page.yaml: a loopback listener reached through localhost, its 404 mapped by local_reply_config', async () => {
    const inner = await freePort();
    proxy = await startProxy({ bootstrap: withPorts('welcome-page.yaml', { 10000: 0, 10001: inner }) });
    const page = await request(proxy.ports.get('listener_0')!, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(page.body).toContain('<h1>Hello from the loopback listener</h1>');
    const post = await request(proxy.ports.get('listener_0')!, '/orders?x=1', { method: 'POST' });
    expect(post.status).toBe(404);
    expect(JSON.parse(post.body)).toEqual({ status: 404, method: 'POST', path: '/orders?x=1' });
  }, 20_000);

  it('dns-resolvers.yaml: names from a private zone through the cluster\'s resolver; a name published later starts serving', async () => {
    dns = await startTestDnsServer();
    const catalog = await upstream('catalog');
    dns.set('catalog.shop.internal', { a: ['127.0.0.1'], ttl: 5 });
    proxy = await startProxy({ bootstrap: withPorts('dns-resolvers.yaml', { 10000: 0, 5353: dns.port, 8080: catalog.port, 9901: 0 }) });
    expect((await request(proxy.port, '/catalog/items')).body).toBe('catalog');
    expect((await request(proxy.port, '/later')).status).toBe(503);
    dns.set('search.shop.internal', { a: ['127.0.0.1'] });
    await waitFor('search.shop.internal published', async () => (await request(proxy!.port, '/later')).status === 200, 8_000);
  }, 20_000);

  it('resilient-backend.yaml: health-checked localities weighted 1:3, and a fault-injected route', async () => {
    const [a, b] = await Promise.all([upstream('a'), upstream('b')]);
    proxy = await startProxy({ bootstrap: withPorts('resilient-backend.yaml', { 10000: 0, 8000: a.port, 8001: b.port, 9901: 0 }) });
    expect((await request(proxy.port, '/flaky')).status).toBe(503);
    const seen = new Map<string, number>();
    for (let i = 0; i < 120; i++) {
      const body = (await request(proxy.port, '/')).body;
      seen.set(body, (seen.get(body) ?? 0) + 1);
    }
    expect(seen.get('b') ?? 0).toBeGreaterThan(seen.get('a') ?? 0); // 3:1 expected (90 / 30)
    expect(seen.get('a') ?? 0).toBeGreaterThan(0);
  }, 20_000);

  it('compressed-api.yaml: JSON of 100 bytes or more gzip-compressed (not with an ETag), the fourth request 429 RL, each logged as JSON', async () => {
    const items = JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}` })) });
    const app = await startUpstream((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/versioned') res.setHeader('etag', '"v1"');
      res.end(req.url === '/small' ? '{"ok":true}' : items);
    });
    upstreams.push(app);
    proxy = await startProxy({ bootstrap: withPorts('compressed-api.yaml', { 10000: 0, 8080: app.port, 9901: 0 }) });
    const gzip = { 'accept-encoding': 'gzip' };
    const big = await getBytes(proxy.port, '/items', gzip);
    expect(big.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(big.body).toString()).toBe(items);
    const small = await getBytes(proxy.port, '/small', gzip);
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.body.toString()).toBe('{"ok":true}');
    const versioned = await getBytes(proxy.port, '/versioned', gzip);
    expect(versioned.headers['content-encoding']).toBeUndefined();
    expect(versioned.body.toString()).toBe(items);
    const limited = await getBytes(proxy.port, '/items', gzip);
    expect(limited.status).toBe(429);
    expect(limited.headers['x-local-rate-limit']).toBe('true');
    const logged = await waitFor('four access log lines', () => {
      const lines = proxy!.lines.filter((l) => (l as Record<string, unknown>).response_code !== undefined) as Record<string, unknown>[];
      return lines.length >= 4 ? lines : null;
    }, 5_000);
    expect(logged.map((l) => [l.path, String(l.response_code), l.response_flags])).toEqual([
      ['/items', '200', '-'], ['/small', '200', '-'], ['/versioned', '200', '-'], ['/items', '429', 'RL'],
    ]);
    expect(logged[0]!.upstream_host).toBe(`127.0.0.1:${app.port}`);
  }, 20_000);

  it('websocket-route.yaml: the route alone enables websocket (the connection manager lists none); other paths get the direct response', async () => {
    const server = http.createServer((_req, res) => res.end('plain'));
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    proxy = await startProxy({ bootstrap: withPorts('websocket-route.yaml', { 10000: 0, 8080: (server.address() as net.AddressInfo).port }) });
    expect((await request(proxy.port, '/')).body).toBe('NotWebSocket\n');
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/ws`);
    const opened = await new Promise<number | 'open'>((resolve, reject) => {
      ws.once('open', () => resolve('open'));
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
      });
      ws.once('error', reject);
    });
    expect(opened).toBe('open');
    const echoed = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
    ws.send('hello through the route');
    expect(await echoed).toBe('hello through the route');
    ws.terminate();
  }, 20_000);

  it('connect-tunnel.yaml: connect_matcher takes CONNECT only; the route\'s CONNECT with connect_config answers 200 and tunnels bytes', async () => {
    const echo = await startTcpEcho();
    closers.push(() => echo.close());
    proxy = await startProxy({ bootstrap: withPorts('connect-tunnel.yaml', { 10001: 0, 10002: echo.port, 9902: 0 }) });
    expect((await request(proxy.port, '/')).status).toBe(404);
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = net.connect(proxy!.port, '127.0.0.1', () => s.write('CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n'));
      s.setEncoding('latin1');
      s.setTimeout(10_000, () => s.destroy(new Error('CONNECT timed out')));
      s.on('data', (d: string) => {
        text += d;
        if (text.endsWith('\r\n\r\n')) s.write('ping through the tunnel');
        if (text.endsWith('ping through the tunnel')) s.end();
      });
      s.on('error', reject);
      s.on('close', () => resolve(text));
    });
    expect(got).toBe('HTTP/1.1 200 OK\r\n\r\nping through the tunnel');
  }, 20_000);

  it('edge-xff.yaml: the trusted client comes from the load balancer\'s XFF entry; proxy errors come back as JSON', async () => {
    const app = await upstream('app');
    proxy = await startProxy({ bootstrap: withPorts('edge-xff.yaml', { 8443: 0, 8000: app.port }) });
    const before = app.seen.length;
    expect((await request(proxy.port, '/', { headers: { 'x-forwarded-for': '10.0.0.1, 198.51.100.7' } })).status).toBe(200);
    const seen = app.seen[before]!.headers;
    expect(seen['x-envoy-external-address']).toBe('198.51.100.7');
    expect(seen['x-forwarded-for']).toBe('10.0.0.1, 198.51.100.7, 127.0.0.1');
    await app.close();
    upstreams = [];
    const down = await request(proxy.port, '/', { headers: { 'x-request-id': 'req-1' } });
    expect(down.status).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(JSON.parse(down.body)).toMatchObject({ code: 503, request_id: 'req-1' });
  }, 20_000);
});
