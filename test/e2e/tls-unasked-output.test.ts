// A TLS peer can make the proxy write without writing anything through JS:
// every TLS 1.2 renegotiation request (a post-handshake ClientHello) is
// answered by OpenSSL with a no_renegotiation alert. A peer that sends them
// and never reads used to grow the connection's write queue by about a byte
// per byte it sent, for as long as it liked, because JS backpressure only sees
// what JS writes. Now such a peer is not read once the session's own unsent
// output passes a bound, until the queue drains (native transport: in C++;
// Node's net: tls-channel.ts). The proxy's memory must stay flat while the
// peer floods, and other clients are served. The records are sealed by hand (test/support/tls12-records.ts): no
// TLS library sends renegotiation requests on demand.
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from './harness.js';
import { tlsTerminationBootstrap } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';
import { TLS12_AES128_GCM, Tls12ClientSealer, serverRandom } from '../support/tls12-records.js';

const FLOOD_BYTES = 24 * 1024 * 1024;
const RECORDS_PER_WRITE = 8192;
/** A post-handshake ClientHello's 4-byte header: enough for OpenSSL to answer it (it drops the rest of the record). */
const CLIENT_HELLO_HEADER = Buffer.from([1, 0, 0, 0]);

function startUpstream(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function residentBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Record types of the whole TLS records in `bytes`. */
function recordTypes(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt16BE(at + 3)) {
    if (at + 5 + bytes.readUInt16BE(at + 3) > bytes.length) break;
    out.push(bytes[at]!);
  }
  return out;
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A TLS 1.2 connection to the proxy whose client side is ours once the handshake is done: a Node client does the
 * handshake through a relay; then the relay's socket to the proxy is handed over, and the client writes no more.
 */
async function takeOverTls12(proxyPort: number, ca: string): Promise<{ up: net.Socket; sealer: Tls12ClientSealer; fromProxy: Buffer[]; close(): void }> {
  const fromProxy: Buffer[] = [];
  let up: net.Socket | null = null;
  let relaying = true;
  const relay = net.createServer((client) => {
    const toProxy = net.connect(proxyPort, '127.0.0.1');
    up = toProxy;
    toProxy.on('error', () => {});
    client.on('error', () => {});
    client.on('data', (chunk) => relaying && toProxy.write(chunk));
    toProxy.on('data', (chunk) => {
      fromProxy.push(chunk);
      if (relaying) client.write(chunk);
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const client = tls.connect({
    port: (relay.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    servername: 'flood.test',
    ca,
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    ciphers: TLS12_AES128_GCM,
  });
  client.on('error', () => {});
  const keylog = new Promise<string>((resolve) => client.once('keylog', (line) => resolve(line.toString('latin1'))));
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  relaying = false;
  const random = serverRandom(Buffer.concat(fromProxy));
  if (random === null || up === null) throw new Error('no ServerHello seen');
  fromProxy.length = 0;
  const sealer = new Tls12ClientSealer(await keylog, random);
  return {
    up: up as net.Socket,
    sealer,
    fromProxy,
    close() {
      client.destroy();
      (up as net.Socket | null)?.destroy();
      relay.close();
    },
  };
}

describe.each([{ transport: 'native' }, { transport: 'node' }] as const)('--transport $transport', ({ transport }) => {
  let ca: TestCa;
  let upstream: net.Server;
  let proxy: RunningProxy;

  beforeAll(async () => {
    ca = new TestCa();
    const serverCert = ca.leaf({ cn: 'flood', dns: ['flood.test'] });
    upstream = await startUpstream();
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: tlsTerminationBootstrap(serverCert, (upstream.address() as net.AddressInfo).port),
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await new Promise((r) => upstream?.close(r));
  });

  it('a peer flooding renegotiation requests without reading does not grow the proxy, and others are served', async () => {
    const port = proxy.ports.get('tls')!;
    const conn = await takeOverTls12(port, ca.cert);
    try {
      // The hand-sealed records are good: one renegotiation request gets an alert back (an answer to a bad record
      // would be a fatal alert and a close, and the flood below would then prove nothing).
      let closed = false;
      conn.up.on('close', () => (closed = true));
      conn.up.write(conn.sealer.seal(22, CLIENT_HELLO_HEADER));
      await until('an alert', () => recordTypes(Buffer.concat(conn.fromProxy)).includes(21));
      await new Promise((r) => setTimeout(r, 100));
      const stillOpen = !closed;

      // From here on nothing reads what the proxy sends.
      conn.up.pause();
      conn.up.on('data', () => {});
      const pid = proxy.child.pid!;
      const before = residentBytes(pid);
      const perWrite = Array.from({ length: RECORDS_PER_WRITE }, () => CLIENT_HELLO_HEADER);
      let sent = 0;
      while (sent < FLOOD_BYTES && !closed) {
        const batch = Buffer.concat(perWrite.map((p) => conn.sealer.seal(22, p)));
        conn.up.write(batch);
        sent += batch.length;
        if (conn.up.writableLength > 4 * 1024 * 1024) await new Promise((r) => setTimeout(r, 10));
      }
      // Give the proxy time to take what it will.
      await new Promise((r) => setTimeout(r, 1500));
      const grown = residentBytes(pid) - before;
      expect(grown, `RSS grew ${(grown / 1048576).toFixed(1)} MB while the peer sent ${(sent / 1048576).toFixed(1)} MB`).toBeLessThan(6 * 1024 * 1024);
      // Still connected, just not read: the flood waits on our side or in the kernel, not in the proxy.
      expect(stillOpen).toBe(true);
      expect(closed).toBe(false);
      expect(conn.up.writableLength).toBeGreaterThan(4 * 1024 * 1024);

      // Another client is served meanwhile.
      const other = tls.connect({ port, host: '127.0.0.1', servername: 'flood.test', ca: ca.cert });
      const answer = await new Promise<string>((resolve, reject) => {
        let seen = '';
        other.on('data', (c) => {
          seen += c.toString('latin1');
          if (seen.endsWith('ok')) resolve(seen);
        });
        other.once('error', reject);
        other.write('GET / HTTP/1.1\r\nhost: flood.test\r\n\r\n');
      });
      other.destroy();
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      conn.close();
    }
  }, 60_000);
});
