// Chunked bodies in tiny chunks, both ways: a 10 MiB upload in 1-byte chunks
// (60 MiB on the wire) arrives intact, in seconds, while other requests on
// the same worker keep being answered; responses in 1-byte chunks arrive
// intact and keep-alive framing after them stays right. (The proxy once spent
// ~5.5 us of JS per chunk: ~60 s for that upload, stalling its worker.)
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, rawExchange, request, startProxy, startUpstream, statusCodes, type RunningProxy, type Upstream } from './harness.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Deterministic bytes (every value occurs). */
function data(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >> 11)) & 0xff;
  return b;
}

/** `body` as 1-byte chunks, then the last chunk. */
function oneByteChunks(body: Buffer): Buffer {
  const wire = Buffer.allocUnsafe(body.length * 6 + 5);
  for (let i = 0, p = 0; i < body.length; i++, p += 6) {
    wire[p] = 0x31;
    wire[p + 1] = 13;
    wire[p + 2] = 10;
    wire[p + 3] = body[i]!;
    wire[p + 4] = 13;
    wire[p + 5] = 10;
  }
  wire.write('0\r\n\r\n', body.length * 6, 'latin1');
  return wire;
}

const DOWNLOAD = data(MiB + 77);
let upstream: Upstream;
let rawUpstream: net.Server;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream((_req, res, body) => res.end(sha(Buffer.from(body, 'latin1'))));
  // Answers every request with DOWNLOAD in 1-byte chunks, on a kept-alive connection.
  const answer = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), oneByteChunks(DOWNLOAD)]);
  rawUpstream = net.createServer((socket) => {
    let head = '';
    socket.on('error', () => {});
    socket.on('data', (c: Buffer) => {
      head += c.toString('latin1');
      while (head.includes('\r\n\r\n')) {
        head = head.slice(head.indexOf('\r\n\r\n') + 4);
        socket.write(answer);
      }
    });
  });
  await new Promise<void>((resolve) => rawUpstream.listen(0, '127.0.0.1', resolve));
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      {
        virtual_hosts: [{
          name: 'all',
          domains: ['*'],
          routes: [
            { match: { prefix: '/download' }, route: { cluster: 'raw', timeout: '60s' } },
            { match: { prefix: '/' }, route: { cluster: 'up', timeout: '60s' } },
          ],
        }],
      },
      [{ name: 'up', ports: [upstream.port] }, { name: 'raw', ports: [(rawUpstream.address() as net.AddressInfo).port] }],
    ),
    workers: 1,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  await new Promise((resolve) => rawUpstream?.close(resolve));
});

/** Sends `wire` after a chunked POST head, 1 MiB at a time with short pauses (so it streams for a while); resolves with the answer. */
function streamUpload(wire: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (/\r\n\r\n[0-9a-f]{64}$/.test(text)) socket.destroy();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.on('connect', () => {
      socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n');
      let at = 0;
      const next = (): void => {
        if (at >= wire.length || socket.destroyed) return;
        const piece = wire.subarray(at, at + MiB);
        at += piece.length;
        // No half-close at the end: the proxy takes a client's FIN as the client leaving.
        if (socket.write(piece)) setTimeout(next, 10);
        else socket.once('drain', () => setTimeout(next, 10));
      };
      next();
    });
  });
}

/** Splits a byte stream of chunked responses (as the proxy sends them) into status and decoded body. */
function chunkedResponses(bytes: Buffer): { status: number; body: Buffer }[] {
  const out: { status: number; body: Buffer }[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf('\r\n\r\n', at);
    expect(headEnd).toBeGreaterThan(0);
    const head = bytes.latin1Slice(at, headEnd);
    expect(head).toMatch(/transfer-encoding: chunked/i);
    at = headEnd + 4;
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = bytes.indexOf('\r\n', at);
      const size = parseInt(bytes.latin1Slice(at, lineEnd), 16);
      at = lineEnd + 2;
      if (size === 0) break;
      parts.push(bytes.subarray(at, at + size));
      at += size + 2;
    }
    at += 2; // the final CRLF (the proxy sends no trailers)
    out.push({ status: Number(head.slice(9, 12)), body: Buffer.concat(parts) });
  }
  return out;
}

describe('chunked bodies in 1-byte chunks', () => {
  it('a 10 MiB upload arrives intact within seconds while other requests on the worker are answered', async () => {
    const body = data(10 * MiB);
    const started = Date.now();
    let streaming = true;
    const upload = streamUpload(oneByteChunks(body)).finally(() => (streaming = false));
    const probes: number[] = [];
    while (streaming && Date.now() - started < 60_000) {
      const t = Date.now();
      const res = await request(proxy.port, '/probe', { timeoutMs: 30_000 });
      expect(res.status).toBe(200);
      if (streaming) probes.push(Date.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
    const answer = await upload;
    expect(statusCodes(answer)).toEqual([200]);
    expect(answer.endsWith(sha(body))).toBe(true);
    // Decoded natively, one piece per read: about a second here even on a busy machine (once about a minute).
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(probes.length).toBeGreaterThan(0);
    probes.sort((a, b) => a - b);
    expect(probes[Math.floor(probes.length / 2)]).toBeLessThan(1000);
  }, 90_000);

  it('a response in 1-byte chunks arrives intact, and the next response on the connection too', async () => {
    const single = await rawExchange(proxy.port, 'GET /download/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 20_000);
    expect(chunkedResponses(Buffer.from(single.text, 'latin1')).map((r) => [r.status, sha(r.body)])).toEqual([[200, sha(DOWNLOAD)]]);
    const pipelined = await rawExchange(
      proxy.port,
      'GET /download/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /download/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      20_000,
    );
    const responses = chunkedResponses(Buffer.from(pipelined.text, 'latin1'));
    expect(responses.map((r) => [r.status, sha(r.body)])).toEqual([[200, sha(DOWNLOAD)], [200, sha(DOWNLOAD)]]);
    expect(pipelined.closed).toBe(true);
  }, 60_000);

  it('a pipelined request right after a body of tiny chunks, in the same read, is parsed where the body ended', async () => {
    const res = await rawExchange(
      proxy.port,
      `POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${oneByteChunks(Buffer.from('hello')).toString('latin1')}` +
        'POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nworld',
      5000,
    );
    expect(statusCodes(res.text)).toEqual([200, 200]);
    expect(res.text).toContain(sha(Buffer.from('hello')));
    expect(res.text.endsWith(sha(Buffer.from('world')))).toBe(true);
  });
});
