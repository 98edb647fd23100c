// HTTP/1.1 details an Envoy user relies on without thinking about them:
// 100-continue, HEAD, bodiless statuses, upstreams that answer early or close,
// HTTP/1.0 keep-alive, and clients that give up mid-request.
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, rawExchange, request, startProxy, statusCodes, waitFor, type RunningProxy } from './harness.js';

let upstream: http.Server;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/early') {
      // Refuse before reading the body, as servers do for an oversized upload.
      res.writeHead(413, { 'content-type': 'text/plain' });
      res.end('too large');
      return;
    }
    if (path === '/hang') return; // never answers
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      if (path === '/head') res.writeHead(200, { 'content-length': 5 }).end();
      else if (path === '/204') res.writeHead(204).end();
      else if (path === '/304') res.writeHead(304, { etag: '"v1"' }).end();
      else if (path === '/close') res.writeHead(200, { connection: 'close', 'content-length': 5 }).end('bye!\n');
      else res.end(`got ${n}`);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as net.AddressInfo).port;
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] },
      [{ name: 'up', ports: [port] }],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  upstream?.closeAllConnections();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** A raw client that can wait for a piece of the answer before sending more. */
function rawClient(port: number): { socket: net.Socket; text: () => string; waitFor: (s: string) => Promise<void> } {
  const socket = net.connect(port, '127.0.0.1');
  let text = '';
  const waiters: (() => void)[] = [];
  socket.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  socket.on('error', () => {});
  return {
    socket,
    text: () => text,
    waitFor: (s) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${s}" in: ${text}`)), 3000);
        const check = (): void => {
          if (text.includes(s)) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
  };
}

describe('HTTP/1.1 semantics through the proxy', () => {
  it('answers Expect: 100-continue itself, then forwards the body', async () => {
    const c = rawClient(proxy.port);
    c.socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
    await c.waitFor('HTTP/1.1 100 Continue\r\n\r\n');
    c.socket.write('hello');
    await c.waitFor('got 5');
    expect(statusCodes(c.text())).toEqual([100, 200]);
    c.socket.destroy();
  });

  it('keeps framing after HEAD, 204 and 304 responses (no body expected)', async () => {
    const req = (m: string, p: string): string => `${m} ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const res = await rawExchange(
      proxy.port,
      req('HEAD', '/head') + req('GET', '/204') + req('GET', '/304') + 'GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(statusCodes(res.text)).toEqual([200, 204, 304, 200]);
    expect(res.text).toMatch(/content-length: 5\r\n/i); // HEAD keeps the length of the body it does not send
    expect(res.text.endsWith('got 0')).toBe(true);
  });

  it('forwards an upstream answer that comes before the upload ends, then closes', async () => {
    const c = rawClient(proxy.port);
    c.socket.write('POST /early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n');
    c.socket.write(Buffer.alloc(64 * 1024, 1));
    await c.waitFor('too large');
    expect(statusCodes(c.text())).toEqual([413]);
    expect(c.text()).toMatch(/connection: close/i);
    c.socket.destroy();
  });

  it('keeps an HTTP/1.0 connection alive when asked, and closes it otherwise', async () => {
    const ka = 'GET /echo HTTP/1.0\r\nConnection: keep-alive\r\n\r\n';
    const res = await rawExchange(proxy.port, ka + ka + 'GET /echo HTTP/1.0\r\n\r\n');
    expect(statusCodes(res.text)).toEqual([200, 200, 200]);
    expect(res.text.match(/connection: keep-alive/gi)).toHaveLength(2);
    expect(res.closed).toBe(true);
  });

  it('keeps the client connection when the upstream closes its own', async () => {
    const res = await rawExchange(
      proxy.port,
      'GET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /close HTTP/1.1\r\nHost: x\r\n\r\nGET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(statusCodes(res.text)).toEqual([200, 200, 200]);
  });

  it('releases everything when a client gives up mid-request', async () => {
    const c = rawClient(proxy.port);
    c.socket.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
    // Envoy's /clusters text: `cluster::host:port::rq_active::N`.
    const active = async (): Promise<number> =>
      [...(await admin(proxy, '/clusters')).body.matchAll(/::rq_active::(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    await waitFor('the request to reach the upstream', async () => (await active()) === 1);
    c.socket.destroy();
    await waitFor('the request to be released', async () => (await active()) === 0);
    expect((await request(proxy.port, '/echo')).status).toBe(200);
  });
});
