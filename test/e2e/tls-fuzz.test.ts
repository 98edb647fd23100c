// Hostile bytes on the TLS-facing read path, on each transport (on the native
// one they are read and fed to the TLS session in C++): mutated and truncated
// ClientHellos in random splits, a ClientHello a byte at a time, resets in the
// middle of the handshake, and garbage records after a completed handshake,
// through a listener with the tls_inspector and one without. Seeded, bounded
// in count and time; afterwards the proxy still serves TLS and plaintext.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { chainsListener, downstreamTls, staticCluster } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

const CASES = 24;
const SEED = 0x15_7a_11;

/** A small seeded PRNG (mulberry32): the same bytes every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function captureClientHello(): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); })));
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername: 'localhost', rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

/**
 * Writes pieces (one write each, a tick apart); then, per `finish`, half-closes and waits for the close (at most
 * waitMs), resets once the server's first bytes arrive (a reset mid-handshake), or resets at once. Returns the
 * bytes received.
 */
async function rawSend(port: number, pieces: Buffer[], finish: 'end' | 'reset-after-reply' | 'reset', waitMs = 400): Promise<Buffer> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  const chunks: Buffer[] = [];
  let replied!: () => void;
  const reply = new Promise<void>((r) => (replied = r));
  sock.on('data', (c: Buffer) => {
    chunks.push(c);
    replied();
  });
  sock.on('error', () => {});
  await new Promise<void>((r) => sock.once('connect', r));
  for (const p of pieces) {
    if (sock.destroyed) break;
    sock.write(p);
    await new Promise((r) => setImmediate(r));
  }
  if (finish === 'reset') {
    sock.resetAndDestroy();
    return Buffer.concat(chunks);
  }
  if (finish === 'end') sock.end();
  const closed = new Promise<void>((r) => sock.once('close', () => r()));
  await Promise.race([finish === 'end' ? closed : reply, new Promise((r) => setTimeout(r, waitMs))]);
  if (finish === 'reset-after-reply') sock.resetAndDestroy();
  sock.destroy();
  return Buffer.concat(chunks);
}

/** Splits buf at random points into 1..8 pieces. */
function split(buf: Buffer, rand: () => number): Buffer[] {
  const cuts = new Set<number>();
  const n = Math.floor(rand() * 8);
  for (let i = 0; i < n; i++) cuts.add(1 + Math.floor(rand() * Math.max(1, buf.length - 1)));
  const points = [0, ...[...cuts].sort((a, b) => a - b), buf.length];
  const out: Buffer[] = [];
  for (let i = 1; i < points.length; i++) if (points[i]! > points[i - 1]!) out.push(buf.subarray(points[i - 1], points[i]));
  return out;
}

/** One mutation of a valid ClientHello: flipped bytes, a truncation, a bad length, or trailing garbage. */
function mutate(hello: Buffer, rand: () => number): Buffer {
  const b = Buffer.from(hello);
  switch (Math.floor(rand() * 5)) {
    case 0:
      for (let i = 0; i < 1 + rand() * 8; i++) b[Math.floor(rand() * b.length)] ^= 1 << Math.floor(rand() * 8);
      return b;
    case 1:
      return b.subarray(0, Math.floor(rand() * b.length));
    case 2:
      b.writeUInt16BE(Math.floor(rand() * 0x10000), 3); // record length
      return b;
    case 3:
      b.writeUInt16BE(Math.floor(rand() * 0x10000), 7); // handshake length (low 16 bits)
      return b;
    default: {
      const tail = Buffer.alloc(1 + Math.floor(rand() * 300));
      for (let i = 0; i < tail.length; i++) tail[i] = Math.floor(rand() * 256);
      return Buffer.concat([b, tail]);
    }
  }
}

/** A completed handshake, then raw bytes written under TLS onto the TCP socket: records the session cannot open. */
async function garbageAfterHandshake(port: number, ca: string, garbage: Buffer): Promise<void> {
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => {});
  await new Promise<void>((r) => raw.once('connect', r));
  const secure = tls.connect({ socket: raw, ca, servername: 'localhost' });
  secure.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  raw.write(garbage);
  await Promise.race([new Promise<void>((r) => raw.once('close', () => r())), new Promise((r) => setTimeout(r, 1000))]);
  secure.destroy();
  raw.destroy();
}

function tlsGet(port: number, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
    const chunks: Buffer[] = [];
    sock.on('secureConnect', () => sock.write('GET /alive HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n'));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => resolve(Number(Buffer.concat(chunks).subarray(9, 12).toString())));
  });
}

const TRANSPORTS = [{ transport: 'native' }, { transport: 'node' }] as const;

describe.each(TRANSPORTS)('hostile TLS bytes with --transport $transport', ({ transport }) => {
  let ca: TestCa;
  let upstream: Upstream;
  let proxy: RunningProxy;

  beforeAll(async () => {
    ca = new TestCa();
    const server = ca.leaf({ cn: 'server', dns: ['localhost'] });
    upstream = await startUpstream((_req, res) => res.end('alive'));
    const routes = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };
    const terminating = downstreamTls({ certificates: [server] });
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: {
        static_resources: {
          listeners: [
            chainsListener('inspected', [{ match: { transport_protocol: 'tls' }, transportSocket: terminating }, { match: { transport_protocol: 'raw_buffer' } }], routes, true),
            chainsListener('direct', [{ transportSocket: terminating }], routes, false),
          ],
          clusters: [staticCluster('backend', upstream.port)],
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
    if (ca !== undefined) rmSync(ca.dir, { recursive: true, force: true });
  });

  it('keeps serving after mutated hellos, 1-byte writes, resets mid-handshake and garbage records', async () => {
    const rand = prng(SEED);
    const hello = await captureClientHello();
    for (const name of ['inspected', 'direct']) {
      const port = proxy.ports.get(name)!;
      // Mutated and truncated ClientHellos in random splits, four connections at a time.
      for (let i = 0; i < CASES; i += 4) {
        const batch: Promise<Buffer>[] = [];
        for (let k = 0; k < 4; k++) {
          const finish = (['end', 'reset', 'reset-after-reply'] as const)[Math.floor(rand() * 3)]!;
          batch.push(rawSend(port, split(mutate(hello, rand), rand), finish));
        }
        await Promise.all(batch);
      }
      // The whole hello a byte at a time: the server answers with its flight.
      const answer = await rawSend(port, [...hello].map((b) => Buffer.from([b])), 'reset-after-reply', 3000);
      expect(answer.length).toBeGreaterThan(0);
      expect(answer[0]).toBe(0x16); // a handshake record (ServerHello), not an alert
      // A reset right after the server's first flight, and one before the hello is complete.
      await rawSend(port, [hello], 'reset-after-reply', 3000);
      await rawSend(port, [hello.subarray(0, 40)], 'reset');
      // After a completed handshake: random bytes, a record header promising more than comes, an empty record.
      const noise = Buffer.alloc(600);
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rand() * 256);
      await garbageAfterHandshake(port, ca.cert, noise);
      await garbageAfterHandshake(port, ca.cert, Buffer.from([0x17, 0x03, 0x03, 0x40, 0x00, 1, 2, 3]));
      await garbageAfterHandshake(port, ca.cert, Buffer.from([0x17, 0x03, 0x03, 0x00, 0x00]));
      expect(await tlsGet(port, ca.cert)).toBe(200);
    }
    const plain = await request(proxy.ports.get('inspected')!, '/plain');
    expect(plain.status).toBe(200);
    expect(proxy.child.exitCode).toBeNull();
  }, 60_000);
});
