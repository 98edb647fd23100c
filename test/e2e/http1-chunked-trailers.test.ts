// Trailers of HTTP/1.1 chunked bodies through the proxy: an HTTP/1.1 client's
// request trailer section reaches an HTTP/1.1 upstream as a trailer section
// and an HTTP/2 upstream as trailers (also when it spans reads); an HTTP/1.1
// upstream's response trailer section reaches an HTTP/1.1 client that sent
// `te: trailers` as a trailer section (dropped otherwise) and an HTTP/2 client
// as trailers. Fields that may not be trailers never pass. A section past the
// 60 KiB limit (or --max-head-bytes when lower), or with more fields than
// max_headers_count, is rejected as Envoy's HTTP/1 codec does: 431 for a
// request; a response's is cut off (the client never sees a clean end or the
// fields).
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, rawExchange, startProxy, startUpstream, statusCodes, type RunningProxy, type Upstream } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { h2Request } from '../support/h2-client.js';
import { upstreamTls } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

let h2server: http2.Http2Server;
/** The same over TLS: the proxy's HTTP/2 upstream then runs on node:http2, not the native session. */
let h2tls: http2.Http2SecureServer;
let h1: Upstream;
let raw: net.Server;
let proxy: RunningProxy;
/** The same routes with --max-head-bytes 8192: a trailer section is held to it as a head is. */
let small: RunningProxy;
/** Request trailers and body the upstreams saw last. */
let h2seen: { trailers: Record<string, unknown>; body: string } = { trailers: {}, body: '' };
let h1seen: { trailers: Record<string, unknown>; body: string } = { trailers: {}, body: '' };

/** 70 trailer lines of 1000 bytes: past the 60 KiB limit. */
const BIG_SECTION = Array.from({ length: 70 }, (_, i) => `x-pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
/** 150 tiny trailer fields: a small section, but more fields than max_headers_count (100, Envoy's default). */
const MANY_FIELDS = Array.from({ length: 150 }, (_, i) => `x-t-${i}: v\r\n`).join('');
/** 12 trailer lines of 1000 bytes: under 60 KiB, past --max-head-bytes 8192. */
const MID_SECTION = Array.from({ length: 12 }, (_, i) => `x-pad-${i}: ${'p'.repeat(1000)}\r\n`).join('');
/** A response trailer section with fields that may pass and fields that may not. */
const RESPONSE_SECTION = 'X-Checksum: abc\r\ncontent-length: 5\r\nAuthorization: secret\r\nx-upper:  V \r\n';

/** A raw HTTP/1.1 upstream: answers each request (then closes) with a chunked "hello" whose trailer section the path picks. */
function startRawUpstream(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const start = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\n';
      if (head.startsWith('GET /resp/many') || head.startsWith('GET /resp/mid')) {
        socket.write(start);
        setTimeout(() => socket.end(`${head.startsWith('GET /resp/mid') ? MID_SECTION : MANY_FIELDS}\r\n`), 150);
        return;
      }
      if (!head.startsWith('GET /resp/big')) {
        socket.end(`${start}${RESPONSE_SECTION}\r\n`);
        return;
      }
      // The big section comes later, so the client already has the head and body when it is refused.
      socket.write(start);
      setTimeout(() => socket.end(`${BIG_SECTION}\r\n`), 150);
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function recordH2(stream: http2.ServerHttp2Stream): void {
  const chunks: Buffer[] = [];
  let trailers: Record<string, unknown> = {};
  stream.on('trailers', (t: Record<string, unknown>) => (trailers = t));
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('end', () => {
    h2seen = { trailers, body: Buffer.concat(chunks).toString() };
    stream.respond({ ':status': 200 });
    stream.end('h2');
  });
}

beforeAll(async () => {
  const ca = new TestCa();
  const leaf = ca.leaf({ cn: 'upstream', dns: ['localhost'] });
  h2tls = http2.createSecureServer({ cert: leaf.cert, key: leaf.key, allowHTTP1: false });
  h2tls.on('stream', recordH2);
  await new Promise<void>((r) => h2tls.listen(0, '127.0.0.1', r));
  h2server = http2.createServer();
  h2server.on('stream', recordH2);
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  h1 = await startUpstream((req, res, body) => {
    h1seen = { trailers: { ...req.trailers }, body };
    res.end('h1');
  });
  raw = await startRawUpstream();
  const bootstrap = {
      static_resources: {
        listeners: [hcmListener('in', [
          prefixRoute('/h1/', 'h1backend', '10s'), prefixRoute('/h2/', 'h2backend', '10s'), prefixRoute('/resp/', 'raw', '10s'),
          prefixRoute('/h2tls/', 'h2tls', '10s'),
        ])],
        clusters: [
          staticCluster('h1backend', h1.port), h2Cluster('h2backend', (h2server.address() as AddressInfo).port),
          staticCluster('raw', (raw.address() as AddressInfo).port),
          h2Cluster('h2tls', (h2tls.address() as AddressInfo).port, { transport_socket: upstreamTls(ca.certPath, 'localhost') }),
        ],
      },
  };
  proxy = await startProxy({ bootstrap });
  small = await startProxy({ bootstrap, args: ['--max-head-bytes', '8192'] });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await small?.stop();
  h2server?.close();
  h2tls?.close();
  raw?.close();
  await h1?.close();
});

/** Sends `parts` on one connection (`gapMs` apart, so each is its own read at the proxy); resolves with all it got back at close. */
function exchangeInParts(parts: readonly string[], gapMs = 150): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    const got: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.on('data', (d: Buffer) => got.push(d));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(got).toString('latin1'));
    });
    socket.on('error', reject);
    parts.forEach((p, i) => setTimeout(() => socket.write(p), i * gapMs));
  });
}

const chunkedPost = (path: string): string => `POST ${path} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n`;
const REQUEST_SECTION = 'X-Checksum: c1\r\ncontent-length: 5\r\nauthorization: no\r\nhost: evil\r\n\r\n';

describe('an HTTP/1.1 client\'s chunked request trailers', () => {
  it('reach an HTTP/1.1 upstream as the trailer section, minus fields that may not be trailers', async () => {
    const r = await rawExchange(proxy.port, `${chunkedPost('/h1/a')}5\r\nhello\r\n0\r\n${REQUEST_SECTION}`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(h1seen.body).toBe('hello');
    expect(h1seen.trailers).toEqual({ 'x-checksum': 'c1' });
  });

  it('reach an HTTP/2 upstream as trailers, minus fields that may not be trailers', async () => {
    const r = await rawExchange(proxy.port, `${chunkedPost('/h2/a')}5\r\nhello\r\n0\r\n${REQUEST_SECTION}`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(h2seen.body).toBe('hello');
    expect(Object.fromEntries(Object.entries(h2seen.trailers).filter(([k]) => !k.startsWith(':')))).toEqual({ 'x-checksum': 'c1' });
  });

  it('reach an HTTP/2 upstream over TLS (node:http2 upstream) as trailers, also when the body is still coming', async () => {
    const r = await rawExchange(proxy.port, `${chunkedPost('/h2tls/a')}5\r\nhello\r\n0\r\n${REQUEST_SECTION}`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(h2seen.body).toBe('hello');
    expect(h2seen.trailers).toMatchObject({ 'x-checksum': 'c1' });
    const text = await exchangeInParts([`${chunkedPost('/h2tls/b')}5\r\nhello\r\n`, '0\r\nx-checksum: later\r\n\r\n'], 300);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(h2seen.trailers).toMatchObject({ 'x-checksum': 'later' });
  });

  it('are forwarded whole when the section arrives over several reads', async () => {
    const text = await exchangeInParts([`${chunkedPost('/h2/b')}5\r\nhello\r\n0\r\nx-a: 1\r\nx-chec`, 'ksum: split\r\n', '\r\n']);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(h2seen.trailers).toMatchObject({ 'x-a': '1', 'x-checksum': 'split' });
  });

  it('a section past 60 KiB is refused with 431 and nothing reaches the upstream', async () => {
    h1seen = { trailers: {}, body: 'untouched' };
    const r = await rawExchange(proxy.port, `${chunkedPost('/h1/big')}5\r\nhello\r\n0\r\n${BIG_SECTION}\r\n`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 431/);
    expect(h1seen.body).toBe('untouched');
  });

  it('a malformed trailer line (bare LF, obs-fold, NUL, CR in a value, space in a name) is refused with 400', async () => {
    for (const section of ['x-a: 1\nx-b: 2\r\n\r\n', 'x-a: 1\r\n folded\r\n\r\n', 'x-a: 1\0\r\n\r\n', 'x-a: 1\rGET / HTTP/1.1\r\n\r\n', 'x a: 1\r\n\r\n']) {
      h1seen = { trailers: {}, body: 'untouched' };
      const r = await rawExchange(proxy.port, `${chunkedPost('/h1/bad')}5\r\nhello\r\n0\r\n${section}`, 3000);
      expect(r.text, JSON.stringify(section)).toMatch(/^HTTP\/1\.1 400/);
      expect(h1seen.body).toBe('untouched');
    }
  });

  it('a request pipelined right after a trailer section on a kept-alive connection is answered in turn', async () => {
    const first = 'POST /h1/p1 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-a: 1\r\n\r\n';
    const r = await rawExchange(proxy.port, `${first}GET /h1/p2 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`, 5000);
    expect(statusCodes(r.text)).toEqual([200, 200]);
  });

  it('a section past --max-head-bytes (under 60 KiB) is refused with 431, as a head that large is', async () => {
    h1seen = { trailers: {}, body: 'untouched' };
    const r = await rawExchange(small.port, `${chunkedPost('/h1/mid')}5\r\nhello\r\n0\r\n${MID_SECTION}\r\n`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 431/);
    expect(h1seen.body).toBe('untouched');
    // Under the limit: forwarded.
    const ok = await rawExchange(small.port, `${chunkedPost('/h1/ok')}5\r\nhello\r\n0\r\nx-checksum: s\r\n\r\n`, 5000);
    expect(ok.text).toMatch(/^HTTP\/1\.1 200/);
    expect(h1seen.trailers).toEqual({ 'x-checksum': 's' });
  });

  it('a section with more fields than max_headers_count is refused with 431 and never completes upstream', async () => {
    h1seen = { trailers: {}, body: 'untouched' };
    const r = await rawExchange(proxy.port, `${chunkedPost('/h1/many')}5\r\nhello\r\n0\r\n${MANY_FIELDS}\r\n`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 431/);
    expect(h1seen.body).toBe('untouched');
  });
});

describe('an HTTP/1.1 upstream\'s chunked response trailers', () => {
  it('reach an HTTP/1.1 client that sent te: trailers as the trailer section, minus fields that may not be trailers', async () => {
    const r = await rawExchange(proxy.port, 'GET /resp/small HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n', 5000);
    const at = r.text.indexOf('\r\n\r\n');
    expect(r.text.slice(0, at).toLowerCase()).toContain('transfer-encoding: chunked');
    expect(r.text.slice(at + 4)).toBe('5\r\nhello\r\n0\r\nx-checksum: abc\r\nx-upper: V\r\n\r\n');
  });

  it('are dropped for an HTTP/1.1 client that did not ask (plain last chunk)', async () => {
    const r = await rawExchange(proxy.port, 'GET /resp/small HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n', 5000);
    expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).toBe('5\r\nhello\r\n0\r\n\r\n');
  });

  it('reach an HTTP/2 client as trailers', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    session.on('error', () => {});
    try {
      const r = await h2Request(session, { ':path': '/resp/small', ':method': 'GET' });
      expect(r.status).toBe(200);
      expect(r.body).toBe('hello');
      expect(Object.fromEntries(Object.entries(r.trailers).filter(([k]) => !k.startsWith(':')))).toEqual({ 'x-checksum': 'abc', 'x-upper': 'V' });
    } finally {
      session.close();
    }
  });

  it('a section past 60 KiB is not forwarded: the response is cut off before its end', async () => {
    const r = await rawExchange(proxy.port, 'GET /resp/big HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n', 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(r.text).not.toContain('x-pad');
    expect(r.text.endsWith('0\r\n\r\n')).toBe(false);
  });

  it('a section past --max-head-bytes (under 60 KiB) is not forwarded: the response is cut off before its end', async () => {
    const r = await rawExchange(small.port, 'GET /resp/mid HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n', 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(r.text).not.toContain('x-pad');
    expect(r.text.endsWith('0\r\n\r\n')).toBe(false);
  });

  it('a section with more fields than max_headers_count is not forwarded: the response is cut off before its end', async () => {
    const r = await rawExchange(proxy.port, 'GET /resp/many HTTP/1.1\r\nhost: x\r\nte: trailers\r\nconnection: close\r\n\r\n', 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(r.text).not.toContain('x-t-');
    expect(r.text.endsWith('0\r\n\r\n')).toBe(false);
  });
});
