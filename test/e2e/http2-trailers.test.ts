// Trailers between HTTP/1.1 and HTTP/2 peers: an HTTP/2 (gRPC-style)
// upstream's response trailers reach an HTTP/1.1 client as the trailer
// section of a chunked body when it sent `te: trailers`, and are dropped
// otherwise (RFC 9110 6.5); an HTTP/2 client's request trailers reach an
// HTTP/2 upstream as trailers and an HTTP/1.1 upstream as the chunked
// body's trailer section; fields that may not be trailers never pass.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, rawExchange, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { h2Request } from '../support/h2-client.js';

let h2server: http2.Http2Server;
let h1: Upstream;
let proxy: RunningProxy;
/** Request trailers and body the upstreams saw last. */
let h2seen: { trailers: Record<string, unknown>; body: string } = { trailers: {}, body: '' };
let h1seen: { trailers: Record<string, unknown>; body: string } = { trailers: {}, body: '' };

beforeAll(async () => {
  h2server = http2.createServer();
  h2server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    let trailers: Record<string, unknown> = {};
    stream.on('trailers', (t: Record<string, unknown>) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      h2seen = { trailers, body: Buffer.concat(chunks).toString() };
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '5', 'grpc-message': 'not here', 'x-checksum': 'abc', authorization: 'not-a-trailer' }));
      stream.end('payload');
    });
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  const h2port = (h2server.address() as AddressInfo).port;
  h1 = await startUpstream((req, res, body) => {
    h1seen = { trailers: { ...req.trailers }, body };
    res.end('h1');
  });
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('in', [prefixRoute('/h1/', 'h1backend', '10s'), prefixRoute('/', 'h2backend', '10s')])],
        clusters: [staticCluster('h1backend', h1.port), h2Cluster('h2backend', h2port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  h2server?.close();
  await h1?.close();
});

/** The raw HTTP/1.1 response to one request with `extra` header lines, split at the end of its head. */
async function h1Raw(extra: string): Promise<{ head: string; body: string }> {
  const r = await rawExchange(proxy.port, `GET /t HTTP/1.1\r\nhost: x\r\n${extra}connection: close\r\n\r\n`, 5000);
  const at = r.text.indexOf('\r\n\r\n');
  return { head: r.text.slice(0, at).toLowerCase(), body: r.text.slice(at + 4) };
}

describe('HTTP/2 upstream trailers to an HTTP/1.1 client', () => {
  it('te: trailers: the chunked body ends with the upstream trailers (minus fields that may not be trailers)', async () => {
    const r = await h1Raw('te: trailers\r\n');
    expect(r.head).toContain('transfer-encoding: chunked');
    expect(r.body).toBe('7\r\npayload\r\n0\r\ngrpc-status: 5\r\ngrpc-message: not here\r\nx-checksum: abc\r\n\r\n');
  });

  it('an HTTP/2 client gets the upstream trailers minus fields that may not be trailers (authorization never passes)', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    session.on('error', () => {});
    try {
      const a = await h2Request(session, { ':path': '/t', ':method': 'GET' });
      expect(a.status).toBe(200);
      expect(a.body).toBe('payload');
      expect(a.trailers).toMatchObject({ 'grpc-status': '5', 'grpc-message': 'not here', 'x-checksum': 'abc' });
      expect(a.trailers).not.toHaveProperty('authorization');
    } finally {
      session.close();
    }
  });

  it('without te: trailers the trailers are dropped and the body ends with the plain last chunk', async () => {
    const r = await h1Raw('');
    expect(r.head).toContain('transfer-encoding: chunked');
    expect(r.body).toBe('7\r\npayload\r\n0\r\n\r\n');
  });

  it('te listing trailers among other codings (case-insensitive) counts as asking', async () => {
    const r = await h1Raw('TE: gzip;q=0.5, Trailers\r\n');
    expect(r.body).toContain('0\r\ngrpc-status: 5\r\n');
  });
});

/** An HTTP/2 POST whose body goes in two parts (the second after a pause: the upstream stream is open by then), then trailers. */
async function postWithTrailers(path: string, trailers: Record<string, string>): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
  session.on('error', () => {});
  try {
    return (await h2Request(session, { ':path': path, ':method': 'POST' }, ['part1-', 'part2'], { trailers })).status;
  } finally {
    session.close();
  }
}

describe('an HTTP/1.1 client\'s chunked request body to an HTTP/2 upstream', () => {
  it('arrives whole and in order though it came as 300 one-byte chunks with extensions', async () => {
    const data = Array.from({ length: 300 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    let chunks = '';
    for (const ch of data) chunks += `1;ext=x\r\n${ch}\r\n`;
    const r = await rawExchange(proxy.port, `POST /up/chunks HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n${chunks}0\r\n\r\n`, 5000);
    expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    expect(h2seen.body).toBe(data);
  });
});

describe('HTTP/2 client request trailers', () => {
  it('reach an HTTP/2 upstream as trailers, after the whole body', async () => {
    expect(await postWithTrailers('/up/h2', { 'x-checksum': 'c1', 'x-count': '2' })).toBe(200);
    expect(h2seen.body).toBe('part1-part2');
    expect(h2seen.trailers).toMatchObject({ 'x-checksum': 'c1', 'x-count': '2' });
  });

  it('reach an HTTP/1.1 upstream as the chunked body\'s trailer section', async () => {
    expect(await postWithTrailers('/h1/up', { 'x-checksum': 'c2' })).toBe(200);
    expect(h1seen.body).toBe('part1-part2');
    expect(h1seen.trailers).toEqual({ 'x-checksum': 'c2' });
  });

  it('a request without trailers still ends cleanly at an HTTP/2 upstream (no trailers invented)', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    session.on('error', () => {});
    const { status } = await h2Request(session, { ':path': '/up/plain', ':method': 'POST' }, ['a', 'b']);
    session.close();
    expect(status).toBe(200);
    expect(h2seen.body).toBe('ab');
    expect(Object.keys(h2seen.trailers).filter((k) => !k.startsWith(':'))).toEqual([]);
  });
});
