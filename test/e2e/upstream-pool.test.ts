// The upstream connection pool under upstreams that break HTTP/1.1 framing
// or vanish mid-exchange: a pooled connection never carries bytes of one
// exchange into the next (a response for one client delivered to another),
// and a request is sent again only when that is safe (RFC 9110 9.2.2).
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metricSum, rawExchange, request, startProxy, statusCodes, type RunningProxy } from './harness.js';

/** A response the upstream must never be able to slip to another request. */
const FORGED = 'HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nforged';

/** What the raw upstream writes for each request path ('' = close without answering). */
function answerFor(method: string, path: string): string {
  if (path === '/head-with-body') return `HTTP/1.1 200 OK\r\ncontent-length: ${FORGED.length}\r\n\r\n${FORGED}`;
  if (path === '/no-content-with-body') return `HTTP/1.1 204 No Content\r\n\r\n${FORGED}`;
  if (path === '/not-modified-with-body') return `HTTP/1.1 304 Not Modified\r\n\r\n${FORGED}`;
  if (path === '/two-responses') return `HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nfirst${FORGED}`;
  if (path === '/no-content-with-length') return 'HTTP/1.1 204 No Content\r\ncontent-length: 6\r\n\r\n';
  if (path === '/vanish') return '';
  const body = `real ${method} ${path}`;
  return `HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
}

/** Requests received per "METHOD path", and of those, how many were the first on their connection. */
const received = new Map<string, number>();
const receivedOnNewConnection = new Map<string, number>();
let upstream: net.Server;
let proxy: RunningProxy;

/** Reads requests (heads plus content-length bodies) off one socket and answers each at once, or after `?delay`. */
function serve(socket: net.Socket): void {
  let pending = Buffer.alloc(0);
  let served = 0;
  socket.on('error', () => {});
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      const headEnd = pending.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const head = pending.subarray(0, headEnd).toString('latin1');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
      if (pending.length < headEnd + 4 + length) return;
      pending = pending.subarray(headEnd + 4 + length);
      const [method = '', target = ''] = head.split(' ');
      const url = new URL(target, 'http://upstream');
      const key = `${method} ${url.pathname}`;
      received.set(key, (received.get(key) ?? 0) + 1);
      if (served++ === 0) receivedOnNewConnection.set(key, (receivedOnNewConnection.get(key) ?? 0) + 1);
      const answer = answerFor(method, url.pathname);
      if (answer === '') {
        socket.destroy();
        return;
      }
      if (url.pathname === '/late-extra') setTimeout(() => socket.write(FORGED), 50); // on the connection once idle
      const delay = Number(url.searchParams.get('delay') ?? '0');
      if (delay > 0) setTimeout(() => socket.write(answer), delay);
      else socket.write(answer);
    }
  });
}

beforeAll(async () => {
  upstream = net.createServer(serve);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const upstreamPort = (upstream.address() as net.AddressInfo).port;
  const retry = { retry_on: 'reset', num_retries: 1, retry_back_off: { base_interval: '0.005s', max_interval: '0.01s' } };
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      {
        virtual_hosts: [{
          name: 'all',
          domains: ['*'],
          routes: [
            { match: { prefix: '/retried' }, route: { cluster: 'raw', prefix_rewrite: '/vanish', retry_policy: retry } },
            { match: { prefix: '/' }, route: { cluster: 'raw' } },
          ],
        }],
      },
      [{ name: 'raw', ports: [upstreamPort] }],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** Warms the proxy's pool with `n` idle connections to the upstream (n requests in flight at once). */
async function warmPool(n: number): Promise<void> {
  const results = await Promise.all(Array.from({ length: n }, () => request(proxy.port, '/warm?delay=150')));
  expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
}

describe('bytes past the end of a response', () => {
  const cases: Array<[string, string, number]> = [
    ['a HEAD answer with a body', 'HEAD /head-with-body', 200],
    ['a 204 with a body', 'GET /no-content-with-body', 204],
    ['a 304 with a body', 'GET /not-modified-with-body', 304],
    ['two responses to one request', 'GET /two-responses', 200],
  ];
  for (const [name, first, status] of cases) {
    it(`never reach a pipelined client's next request: ${name}`, async () => {
      const next = `/next-${first.split('/')[1]}`;
      const res = await rawExchange(
        proxy.port,
        `${first} HTTP/1.1\r\nHost: x\r\n\r\nGET ${next} HTTP/1.1\r\nHost: x\r\n\r\nGET ${next}-2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
        5000,
      );
      expect(res.text).not.toContain('forged');
      expect(statusCodes(res.text)).toEqual([status, 200, 200]);
      expect(res.text).toContain(`real GET ${next}HTTP/1.1 200`);
      expect(res.text.endsWith(`real GET ${next}-2`)).toBe(true);
    });
  }

  it('a 204 that claims a Content-Length reaches the client without it, so the next response is not taken as its body', async () => {
    // RFC 9110 8.6: a server never sends Content-Length on a 204; a client honouring it would read the next
    // response's first bytes as this one's body.
    const res = await rawExchange(
      proxy.port,
      'GET /no-content-with-length HTTP/1.1\r\nHost: x\r\n\r\nGET /after-204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      5000,
    );
    expect(statusCodes(res.text)).toEqual([204, 200]);
    const noContentHead = res.text.slice(0, res.text.indexOf('\r\n\r\n'));
    expect(noContentHead).not.toMatch(/content-length/i);
    expect(res.text.endsWith('real GET /after-204')).toBe(true);
  });

  it('close the connection and count it as envoy_cluster_upstream_cx_protocol_error', async () => {
    const before = metricSum((await admin(proxy, '/stats/prometheus')).body, 'envoy_cluster_upstream_cx_protocol_error', 'cluster_name="raw"');
    const head = await request(proxy.port, '/head-with-body', { method: 'HEAD' });
    expect(head.status).toBe(200);
    // The next request finds no desynchronised connection in the pool.
    const after = await request(proxy.port, '/after');
    expect(after.body).toBe('real GET /after');
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_protocol_error', 'cluster_name="raw"')).toBe(before + 1);
  });

  it('close an idle pooled connection that receives bytes nobody asked for, and count it', async () => {
    const stats = async (): Promise<number> =>
      metricSum((await admin(proxy, '/stats/prometheus')).body, 'envoy_cluster_upstream_cx_protocol_error', 'cluster_name="raw"');
    const before = await stats();
    expect((await request(proxy.port, '/late-extra')).body).toBe('real GET /late-extra');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stats()).toBe(before + 1);
    const results = await Promise.all(Array.from({ length: 4 }, (_, i) => request(proxy.port, `/later-${i}`)));
    expect(results.map((r) => r.body)).toEqual([0, 1, 2, 3].map((i) => `real GET /later-${i}`));
  });
});

describe('requests sent again after a pooled connection fails', () => {
  it('does not send a POST a second time when the upstream closes without answering and the route has no retry policy', async () => {
    await warmPool(3);
    received.delete('POST /vanish');
    const res = await request(proxy.port, '/vanish', { method: 'POST', body: 'pay once' });
    expect(res.status).toBe(502);
    expect(received.get('POST /vanish')).toBe(1);
  });

  it('sends an idempotent GET again at most once, on a fresh connection', async () => {
    await warmPool(3);
    received.delete('GET /vanish');
    receivedOnNewConnection.delete('GET /vanish');
    const res = await request(proxy.port, '/vanish');
    expect(res.status).toBe(502);
    expect(received.get('GET /vanish')).toBe(2);
    // The first try went out on a pooled connection, the second on a new one.
    expect(receivedOnNewConnection.get('GET /vanish')).toBe(1);
  });

  it('follows the route retry policy exactly for a POST (num_retries 1: two tries)', async () => {
    await warmPool(3);
    received.delete('POST /vanish');
    const res = await request(proxy.port, '/retried', { method: 'POST', body: 'twice at most' });
    expect(res.status).toBe(502);
    expect(received.get('POST /vanish')).toBe(2);
  });
});
