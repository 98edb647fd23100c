// Peers that misbehave: upstreams answering with invalid HTTP, and clients
// that never finish their head. The proxy answers in one place (502 UPE, 408)
// and keeps serving; nothing a peer sends can crash it.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, rawExchange, request, startProxy, statusCodes, type RunningProxy } from './harness.js';

/** What the raw upstream writes back for each request path. */
const answers: Record<string, string> = {
  '/garbage': 'NOT HTTP AT ALL\r\n\r\n',
  '/cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  '/two-lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n',
  '/huge-head': `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\nContent-Length: 2\r\n\r\nok`,
  '/switch': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n',
  '/cut-head': 'HTTP/1.1 200 OK\r\nContent-Le',
  '/fine': 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine',
};

let upstream: net.Server;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = net.createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.split(' ')[1] ?? '/';
      socket.end(answers[path] ?? answers['/fine']);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as net.AddressInfo).port;
  const bootstrap = bootstrapWith(
    { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'raw' } }] }] },
    [{ name: 'raw', ports: [upstreamPort] }],
  ) as { static_resources: { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] } };
  bootstrap.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.request_headers_timeout = '0.5s';
  proxy = await startProxy({ bootstrap });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

describe('upstreams that break HTTP', () => {
  for (const path of ['/garbage', '/cl-te', '/two-lengths', '/bad-chunk', '/huge-head', '/switch']) {
    it(`answers 502 UPE for ${path}`, async () => {
      const res = await request(proxy.port, path);
      expect(res.status).toBe(502);
      expect(res.body).toBe('upstream sent an invalid HTTP response');
    });
  }

  it('answers 502 UC when the upstream closes in the middle of its head', async () => {
    expect((await request(proxy.port, '/cut-head')).status).toBe(502);
  });

  it('kept serving, and counted each as an upstream protocol error', async () => {
    const res = await request(proxy.port, '/fine');
    expect(res.status).toBe(200);
    expect(res.body).toBe('fine');
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    const upe = stats.split('\n').find((l) => l.startsWith('istio_requests_total{') && l.includes('response_flags="UPE"'));
    expect(upe).toBeDefined();
    expect(Number(upe!.split(' ').pop())).toBe(6);
  });
});

describe('clients that never finish their head', () => {
  it('answers 408 and closes when request_headers_timeout passes', async () => {
    const started = Date.now();
    const res = await rawExchange(proxy.port, 'GET /fine HTTP/1.1\r\nHost: x\r\nX-Slow: ', 5000);
    expect(statusCodes(res.text)).toEqual([408]);
    expect(res.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('does not time out a head that completes in time, even in pieces', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      socket.on('data', (c: Buffer) => (got += c.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', reject);
      socket.write('GET /fine HTTP/1.1\r\n');
      setTimeout(() => socket.write('Host: x\r\n'), 100);
      setTimeout(() => socket.write('Connection: close\r\n\r\n'), 200);
    });
    expect(statusCodes(text)).toEqual([200]);
  });
});
