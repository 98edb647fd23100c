// An upstream that sends its response head in pieces (a byte per write, the
// end-of-head line split at every place): the proxy must put the head back
// together whatever the cut, skip an interim 100, refuse a head past the
// limit as soon as it is past it (not at a timeout), and refuse a bad status
// line once its head ends. The proxy parses a trickled head again only when
// an empty line may have ended it (upstream-connection.ts), so these are the
// cases that deferral could break.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, rawExchange, startProxy, type RunningProxy } from './harness.js';

/** What the raw upstream answers, by request path; each string is written a byte per write (or in `cut` pieces). */
const ANSWERS: Record<string, { parts: string[] }> = {
  '/interim': { parts: bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello') },
  '/big': {
    // 40 header lines of 1000 bytes (a 40 KiB head, under the 60 KiB limit), 20 bytes per write.
    parts: pieces(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\n${Array.from({ length: 40 }, (_, i) => `x-pad-${i}: ${'p'.repeat(1000)}\r\n`).join('')}\r\nok`, 20),
  },
  '/bare-lf': { parts: bytes('HTTP/1.1 200 OK\nContent-Length: 2\n\nok') },
  '/bare-lf-whole': { parts: ['HTTP/1.1 200 OK\nContent-Length: 2\n\nok'] },
  '/too-big': { parts: pieces(`HTTP/1.1 200 OK\r\n${Array.from({ length: 80 }, (_, i) => `x-pad-${i}: ${'p'.repeat(1000)}\r\n`).join('')}`, 500) },
  '/garbage': { parts: bytes('HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok') },
};

function bytes(text: string): string[] {
  return [...text];
}

function pieces(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

/** Writes `parts` one per loop turn with Nagle off, so the proxy reads them in as many pieces as it can. */
function trickle(socket: net.Socket, parts: readonly string[], i = 0): void {
  if (socket.destroyed) return;
  if (i === parts.length) return; // the test's client closes (Connection: close) once answered
  socket.write(parts[i]!, () => setImmediate(trickle, socket, parts, i + 1));
}

let raw: net.Server;
let proxy: RunningProxy;

beforeAll(async () => {
  raw = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const path = head.slice(head.indexOf(' ') + 1, head.indexOf(' ', head.indexOf(' ') + 1));
      head = '';
      const answer = ANSWERS[path];
      if (answer === undefined) socket.destroy();
      else trickle(socket, answer.parts);
    });
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'raw', timeout: '30s' } }] }] },
      [{ name: 'raw', ports: [(raw.address() as net.AddressInfo).port] }],
    ),
    workers: 1,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise<void>((resolve) => raw?.close(() => resolve()));
});

async function get(path: string): Promise<{ status: number; text: string; ms: number }> {
  const started = Date.now();
  const res = await rawExchange(proxy.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 20_000);
  return { status: Number(res.text.slice(9, 12)), text: res.text, ms: Date.now() - started };
}

describe('a response head the upstream sends in pieces', () => {
  it('a byte per write, after an interim 100 also sent a byte per write, arrives whole', async () => {
    const res = await get('/interim');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/\r\nx-a: b\r\n/i);
    expect(res.text.endsWith('\r\n\r\nhello')).toBe(true);
    expect(res.text).not.toContain('100 Continue');
  }, 30_000);

  it('a 40 KiB head in 20-byte writes arrives with every field', async () => {
    const res = await get('/big');
    expect(res.status).toBe(200);
    expect(res.text.match(/\r\nx-pad-\d+: p{1000}/g)?.length).toBe(40);
    expect(res.text.endsWith('\r\n\r\nok')).toBe(true);
  }, 30_000);

  it('a head whose lines end in a bare LF gets the same answer whole or a byte per write', async () => {
    // Whatever the parser makes of bare LF, sending it in pieces must not change it.
    const res = await get('/bare-lf');
    expect([200, 502]).toContain(res.status);
    const whole = await get('/bare-lf-whole');
    expect(res.status).toBe(whole.status);
  }, 30_000);

  it('a head past the limit with no end in sight is refused once it is past the limit, not at the route timeout', async () => {
    const res = await get('/too-big');
    expect(res.status).toBe(502);
    expect(res.ms).toBeLessThan(15_000); // the route timeout is 30 s; the head passes 60 KiB within a second or two
  }, 30_000);

  it('a bad status line sent a byte per write is refused when its head ends', async () => {
    const res = await get('/garbage');
    expect(res.status).toBe(502);
  }, 30_000);
});
