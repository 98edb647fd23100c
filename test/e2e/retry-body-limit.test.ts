// A retry sends the whole request body again, so it needs the whole body
// kept. When the body grows past the replay limit (1 MiB) while a retry is
// waiting out its backoff, the retry can no longer be made whole: the proxy
// answers 507 as Envoy does ("exceeded request buffer limit while retrying
// upstream"), and never sends the upstream a body missing its beginning.
import * as http from 'node:http';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metricSum, startProxy, statusCodes, waitFor, type RunningProxy } from './harness.js';

const FIRST = 15 * 64 * 1024; // 960 KiB kept before the 503
const REST = 8 * 64 * 1024; // the body crosses the replay limit (1 MiB) during the backoff
let upstream: http.Server;
let proxy: RunningProxy;
/** Body lengths the upstream received, per attempt. */
const attempts: number[] = [];
let firstAnswered: () => void = () => {};

beforeAll(async () => {
  // The first attempt is answered 503 once FIRST body bytes arrived; later ones with the body length received.
  upstream = http.createServer((req, res) => {
    if (attempts.length === 0) {
      attempts.push(-1);
      let n = 0;
      req.on('data', (c: Buffer) => {
        n += c.length;
        if (n < FIRST || res.headersSent) return;
        res.writeHead(503, { 'content-length': '0', connection: 'close' }).end();
        firstAnswered();
      });
      return;
    }
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => {
      attempts.push(n);
      res.end(`received ${n}`);
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const port = (upstream.address() as net.AddressInfo).port;
  // Backoff jittered in [0, 10 s): the rest of the body arrives while the retry waits.
  const retry = { retry_on: '5xx', num_retries: 1, retry_back_off: { base_interval: '10s', max_interval: '10s' } };
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '60s', retry_policy: retry } }] }] },
      [{ name: 'up', ports: [port] }],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise((resolve) => upstream?.close(resolve));
});

function chunk(size: number): string {
  return `${size.toString(16)}\r\n${'x'.repeat(size)}\r\n`;
}

describe('a retry whose body grew past the replay limit during its backoff', () => {
  it('is answered 507 and the upstream never gets a body missing its beginning', async () => {
    const answered = new Promise<void>((resolve) => (firstAnswered = resolve));
    const socket = net.connect(proxy.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    socket.write("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (let sent = 0; sent < FIRST; sent += 64 * 1024) socket.write(chunk(64 * 1024));
    await answered;
    // The proxy took the 503 and scheduled the retry: it now waits out its backoff.
    await waitFor('the retry scheduled', async () =>
      metricSum((await admin(proxy, '/stats/prometheus')).body, 'envoy_cluster_upstream_rq_retry', 'cluster_name="up"') >= 1);
    for (let sent = 0; sent < REST; sent += 64 * 1024) socket.write(chunk(64 * 1024));
    socket.write('0\r\n\r\n');
    await Promise.race([closed, sleep(15_000)]);
    socket.destroy();
    const text = Buffer.concat(received).toString('latin1');
    const whole = FIRST + REST;
    // Every attempt after the first got the whole body (a retry that began before the limit was crossed may).
    expect(attempts.slice(1).filter((n) => n !== whole)).toEqual([]);
    if (attempts.length === 1) {
      expect(statusCodes(text)).toEqual([507]);
      expect(text).toContain('exceeded request buffer limit while retrying upstream');
    } else {
      expect(text).toContain(`received ${whole}`);
    }
  }, 30_000);
});
