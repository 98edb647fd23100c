// TLS inside the native transport, in-process on real loopback sockets: the
// addon's session sits beside the socket, so what JS receives is exactly the
// plaintext the peer sent (no record ever reaches onSocketData), writes go
// out encrypted, and the handshake's result (ALPN, SNI, peer certificate)
// arrives as an event. Node's tls module is the peer.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listenReusePort, startAccepting, stopAccepting, tlsCreateContext, type TlsContextHandle } from '../../src/native.js';
import { NativeSocket } from '../../workers/native-transport.js';
import { openTls, type TlsLink, type TlsOwner } from '../../workers/tls-channel.js';
import type { SocketOwner } from '../../workers/transport-socket.js';
import { TestCa, type Pem } from '../support/tls-certs.js';

/** Owns one TLS socket: keeps the plaintext, counts raw socket bytes (which must stay 0 with the native session). */
class TlsRecorder implements SocketOwner, TlsOwner {
  link: TlsLink | null = null;
  plaintext: Buffer[] = [];
  received = 0;
  rawBytes = 0;
  handshakes = 0;
  failure: string | null = null;
  closed = false;
  writable = 0;
  private waiters: (() => void)[] = [];
  onPlain: ((buf: Buffer, start: number, end: number) => void) | null = null;

  onSocketData(_buf: Buffer, start: number, end: number): void {
    this.rawBytes += end - start;
    this.wake();
  }
  onSocketConnect(): void {
    this.wake();
  }
  onSocketWritable(): void {
    this.writable++;
    this.wake();
  }
  onSocketTimeout(): void {}
  onSocketClose(): void {
    this.closed = true;
    this.link?.free();
    this.wake();
  }
  onTlsHandshake(): void {
    this.handshakes++;
    this.wake();
  }
  onTlsPlaintext(buf: Buffer, start: number, end: number): void {
    this.received += end - start;
    if (this.onPlain !== null) this.onPlain(buf, start, end);
    else this.plaintext.push(Buffer.from(buf.subarray(start, end)));
    this.wake();
  }
  onTlsFailure(reason: string): void {
    this.failure = reason;
    this.wake();
  }
  text(): string {
    return Buffer.concat(this.plaintext).toString('latin1');
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  until(cond: () => boolean, ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting')), ms);
      const check = (): void => {
        if (cond()) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

let ca: TestCa;
let serverPem: Pem;
let clientPem: Pem;
let serverContext: TlsContextHandle;

beforeAll(() => {
  ca = new TestCa();
  serverPem = ca.leaf({ cn: 'server', dns: ['server.test'] });
  clientPem = ca.leaf({ cn: 'client', uri: ['spiffe://test/ns/a/sa/client'] });
  serverContext = tlsCreateContext({
    server: true,
    certificates: [{ chain: serverPem.cert, key: serverPem.key }],
    trustedCa: ca.cert,
    alpn: ['h2', 'http/1.1'],
  });
});
afterAll(() => rmSync(ca.dir, { recursive: true, force: true }));

/** A native listener whose accepted sockets start TLS at once (a listener without the tls_inspector). */
function tlsListener(context: TlsContextHandle): { port: number; accepted: Promise<{ socket: NativeSocket; owner: TlsRecorder }> } {
  const bound = listenReusePort('127.0.0.1', 0, 16);
  let resolveAccepted!: (v: { socket: NativeSocket; owner: TlsRecorder }) => void;
  const accepted = new Promise<{ socket: NativeSocket; owner: TlsRecorder }>((r) => (resolveAccepted = r));
  const acceptor = startAccepting(bound.fd, (fd) => {
    const owner = new TlsRecorder();
    const socket = NativeSocket.accept(fd, owner);
    owner.link = openTls(context, socket, owner);
    resolveAccepted({ socket, owner });
  });
  cleanups.push(() => stopAccepting(acceptor));
  return { port: bound.port, accepted };
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 12)) & 0xff;
  return b;
}

describe('TLS in the native transport', () => {
  it('hands JS only plaintext, reports ALPN, SNI and the client certificate, and encrypts what JS writes', async () => {
    const { port, accepted } = tlsListener(serverContext);
    const client = tls.connect({
      host: '127.0.0.1', port, ca: ca.cert, servername: 'server.test', ALPNProtocols: ['http/1.1'],
      cert: clientPem.cert, key: clientPem.key,
    });
    cleanups.push(() => client.destroy());
    const fromServer: Buffer[] = [];
    client.on('data', (c: Buffer) => fromServer.push(c));
    await new Promise<void>((resolve, reject) => {
      client.once('secureConnect', resolve);
      client.once('error', reject);
    });
    const { socket, owner } = await accepted;
    await owner.until(() => owner.handshakes === 1);
    const peer = owner.link!.peer!;
    expect(peer.alpn).toBe('http/1.1');
    expect(peer.serverName).toBe('server.test');
    expect(peer.version).toBe('TLSv1.3');
    expect(peer.certificate?.uriSans).toEqual(['spiffe://test/ns/a/sa/client']);
    expect(peer.certificate?.sha256).toMatch(/^[0-9A-Fa-f:]+$/);

    client.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    await owner.until(() => owner.received === 27);
    expect(owner.text()).toBe('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(owner.rawBytes).toBe(0);

    expect(owner.link!.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n')).toBe(true);
    expect(socket.writev(['he', Buffer.from('llo')])).toBe(true);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (Buffer.concat(fromServer).toString().endsWith('hello')) resolve();
        else client.once('data', check);
      };
      check();
    });
    expect(Buffer.concat(fromServer).toString()).toBe('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
    owner.link!.end();
    await new Promise<void>((resolve) => client.once('end', resolve));
    client.end();
    await owner.until(() => owner.closed);
  });

  it('moves 8 MB each way intact with backpressure: pausing leaves decrypted records waiting in the addon', async () => {
    const { port, accepted } = tlsListener(serverContext);
    const client = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'server.test' });
    cleanups.push(() => client.destroy());
    await new Promise<void>((resolve, reject) => {
      client.once('secureConnect', resolve);
      client.once('error', reject);
    });
    const { socket, owner } = await accepted;
    const size = 8 * 1024 * 1024;
    const up = pattern(size, 1);
    const down = pattern(size, 2);
    const got = Buffer.alloc(size);
    let at = 0;
    let pauses = 0;
    owner.onPlain = (buf, start, end): void => {
      buf.copy(got, at, start, end);
      at += end - start;
      // Pause every so often and resume on a later turn: the rest must come from the session's backlog.
      if (pauses < 20 && at > (pauses + 1) * (size / 21)) {
        pauses++;
        socket.pause();
        setTimeout(() => socket.resume(), 5);
      }
    };
    client.write(up);
    await owner.until(() => at === size, 30_000);
    expect(got.equals(up)).toBe(true);
    expect(pauses).toBe(20);
    expect(owner.rawBytes).toBe(0);

    const fromServer: Buffer[] = [];
    let fromLen = 0;
    const done = new Promise<void>((resolve) => {
      client.on('data', (c: Buffer) => {
        fromServer.push(c);
        fromLen += c.length;
        if (fromLen >= size) resolve();
      });
    });
    let sent = 0;
    let refused = 0;
    const pump = (): void => {
      while (sent < size) {
        const chunk = down.subarray(sent, Math.min(size, sent + 64 * 1024));
        sent += chunk.length;
        if (!owner.link!.write(chunk)) {
          refused++;
          return;
        }
      }
    };
    const writableBefore = owner.writable;
    pump();
    while (sent < size) {
      const seen = owner.writable;
      await owner.until(() => owner.writable > seen);
      pump();
    }
    await done;
    expect(Buffer.concat(fromServer).equals(down)).toBe(true);
    // The high-water mark applies to ciphertext queued in C++: 8 MB at once overruns it.
    expect(refused).toBeGreaterThan(0);
    expect(owner.writable - writableBefore).toBe(refused);
    client.destroy();
    await owner.until(() => owner.closed);
  });

  it('fails a handshake from a client the trust bundle does not know, without any plaintext reaching JS', async () => {
    const requiring = tlsCreateContext({
      server: true, certificates: [{ chain: serverPem.cert, key: serverPem.key }], trustedCa: ca.cert, requireClientCertificate: true,
    });
    const { port, accepted } = tlsListener(requiring);
    const stranger = new TestCa('Stranger CA');
    cleanups.push(() => rmSync(stranger.dir, { recursive: true, force: true }));
    const bad = stranger.leaf({ cn: 'intruder' });
    const client = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'server.test', cert: bad.cert, key: bad.key });
    cleanups.push(() => client.destroy());
    const clientError = new Promise<Error>((resolve) => client.once('error', resolve));
    client.on('secureConnect', () => client.write('should never arrive'));
    const { owner } = await accepted;
    await owner.until(() => owner.failure !== null);
    expect(owner.failure).toMatch(/certificate/i);
    expect(owner.handshakes).toBe(0);
    expect(String(await clientError)).toMatch(/alert|certificate|reset|closed/i);
    owner.link!.end();
    await owner.until(() => owner.closed);
    expect(owner.received).toBe(0);
    expect(owner.rawBytes).toBe(0);
  });

  it('originates TLS from a connected native socket with SNI and ALPN, and refuses a server without the expected SAN (a session resumed from an earlier handshake does not skip the check)', async () => {
    const srv = tls.createServer({ cert: serverPem.cert, key: serverPem.key, ALPNProtocols: ['http/1.1'] }, (s) => {
      s.on('data', (d: Buffer) => s.write(`${s.servername ?? ''}|${s.alpnProtocol || ''}|${d.toString()}`));
    });
    cleanups.push(() => srv.close());
    const port = await new Promise<number>((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
    const clientContext = tlsCreateContext({ server: false, trustedCa: ca.cert, alpn: ['http/1.1'] });

    const connectTls = (san: string): TlsRecorder => {
      const owner = new TlsRecorder();
      const socket = NativeSocket.connect('127.0.0.1', port, {
        onSocketData: owner.onSocketData.bind(owner),
        onSocketConnect: () => { owner.link = openTls(clientContext, socket, owner, 'server.test', { type: 'DNS', kind: 'exact', value: san }); },
        onSocketWritable: owner.onSocketWritable.bind(owner),
        onSocketTimeout: () => {},
        onSocketClose: owner.onSocketClose.bind(owner),
      }, 2000);
      cleanups.push(() => socket.close());
      return owner;
    };

    const good = connectTls("server.test");
    await good.until(() => good.handshakes === 1);
    expect(good.link!.peer!.alpn).toBe('http/1.1');
    expect(good.link!.peer!.certificate?.dnsSans).toEqual(['server.test']);
    good.link!.write('ping');
    await good.until(() => good.text() === 'server.test|http/1.1|ping');
    expect(good.rawBytes).toBe(0);

    const wrong = connectTls("other.test");
    await wrong.until(() => wrong.failure !== null);
    expect(wrong.failure).toMatch(/subject-alt-name/);
    expect(wrong.handshakes).toBe(0);
  });
});
