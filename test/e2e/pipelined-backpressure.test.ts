// A client that pipelines many requests and reads none of the responses must
// not make the proxy hold every response: once the client's socket is backed
// up, the next pipelined request waits until the client reads (as Node's
// http server and nginx do), so what the proxy buffers stays bounded. Once
// the client reads, every response arrives, in order, intact.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, startProxy, waitFor, type RunningProxy } from './harness.js';

/** Small enough that each response arrives from the upstream whole, so none is held back by reading its body slower. */
const RESPONSE_BYTES = 4096;
const PIPELINED = 20_000;
/** Far below PIPELINED: what the kernel's socket buffers on both sides of the client connection can hold (a few MB), and more. */
const FORWARDED_BOUND = 8000;

let upstream: net.Server;
let upstreamPort = 0;
/** Requests the upstream saw (each is a response the proxy had to take). */
let seen = 0;
const proxies = new Map<string, RunningProxy>();
const body = Buffer.alloc(RESPONSE_BYTES, 0x62);

/** A raw HTTP/1.1 upstream answering every GET with RESPONSE_BYTES and its path in a header (to check the order). */
function startRawUpstream(): Promise<void> {
  upstream = net.createServer({ noDelay: true }, (s) => {
    let pending = '';
    s.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const path = pending.slice(0, end).split(' ')[1];
        pending = pending.slice(end + 4);
        seen++;
        // One write per response: a head and a body written apart would wait on the proxy's delayed ACK (Nagle).
        s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nx-path: ${path}\r\ncontent-length: ${RESPONSE_BYTES}\r\n\r\n`, 'latin1'), body]));
      }
    });
    s.on('error', () => {});
  });
  return new Promise((resolve) => {
    upstream.listen(0, '127.0.0.1', () => {
      upstreamPort = (upstream.address() as net.AddressInfo).port;
      resolve();
    });
  });
}

const TRANSPORTS = ['native', 'node'] as const;

beforeAll(async () => {
  await startRawUpstream();
  for (const transport of TRANSPORTS) {
    proxies.set(transport, await startProxy({
      args: ['--transport', transport],
      bootstrap: bootstrapWith(
        { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '60s' } }] }] },
        [{ name: 'up', ports: [upstreamPort] }],
      ),
    }));
  }
}, 60_000);

afterAll(async () => {
  for (const p of proxies.values()) await p.stop();
  upstream?.close();
});

/** Waits until `read()` has not changed for `quietMs` (or `maxMs` passed); returns its last value. */
async function settled(read: () => number, quietMs: number, maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs;
  let last = read();
  let since = Date.now();
  while (Date.now() < deadline && Date.now() - since < quietMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = read();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
  return last;
}

describe.each(TRANSPORTS)('pipelined requests from a client that does not read (--transport %s)', (transport) => {
  it('stops forwarding while the client is backed up, then answers every request in order once it reads', async () => {
    seen = 0;
    const client = net.connect(proxies.get(transport)!.port, '127.0.0.1');
    client.pause(); // reads nothing until asked
    await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
    let requests = '';
    for (let i = 0; i < PIPELINED; i++) requests += `GET /r${i} HTTP/1.1\r\nhost: h\r\n\r\n`;
    client.write(requests);

    const forwarded = await settled(() => seen, 700, 8000);
    expect(forwarded).toBeGreaterThan(0);
    expect(forwarded).toBeLessThan(FORWARDED_BOUND);

    // Now read: every response comes, whole and in order.
    let pending = Buffer.alloc(0);
    let responses = 0;
    let problem = '';
    client.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      for (;;) {
        const headEnd = pending.indexOf('\r\n\r\n');
        if (headEnd < 0 || problem !== '') return;
        const head = pending.latin1Slice(0, headEnd);
        const length = Number(/content-length: (\d+)/.exec(head)?.[1] ?? -1);
        if (pending.length < headEnd + 4 + Math.max(length, 0)) return;
        if (!head.startsWith('HTTP/1.1 200 OK\r\n') || !head.includes(`x-path: /r${responses}\r\n`) || length !== RESPONSE_BYTES) {
          problem = `response ${responses}: ${JSON.stringify(head.slice(0, 200))}`;
        } else if (!pending.subarray(headEnd + 4, headEnd + 4 + length).equals(body)) {
          problem = `response ${responses}: body differs`;
        }
        pending = pending.subarray(headEnd + 4 + length);
        responses++;
      }
    });
    client.resume();
    await waitFor('every response', () => responses === PIPELINED || problem !== '', 30_000);
    expect(problem).toBe('');
    expect(responses).toBe(PIPELINED);
    await new Promise((r) => setTimeout(r, 100));
    expect(pending.length).toBe(0); // nothing after the last response
    expect(seen).toBe(PIPELINED);
    client.destroy();
  }, 60_000);
});
