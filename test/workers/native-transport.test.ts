// The addon's transport on real loopback sockets, through NativeSocket: Node's
// net is the peer on the other end.
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  listenReusePort,
  startAccepting,
  stopAccepting,
  transportReadCounts,
  type Acceptor,
} from '../../src/native.js';
import { NativeSocket, nativeTransportStats } from '../../workers/native-transport.js';
import type { SocketOwner } from '../../workers/transport-socket.js';

/** Records what a NativeSocket reports. */
class Recorder implements SocketOwner {
  chunks: Buffer[] = [];
  received = 0;
  connected = false;
  writable = 0;
  timeouts = 0;
  closed = false;
  private waiters: (() => void)[] = [];
  onData: ((buf: Buffer, start: number, end: number) => void) | null = null;

  onSocketData(buf: Buffer, start: number, end: number): void {
    this.received += end - start;
    if (this.onData !== null) this.onData(buf, start, end);
    else this.chunks.push(Buffer.from(buf.subarray(start, end))); // copy: the buffer is reused
    this.wake();
  }
  onSocketConnect(): void {
    this.connected = true;
    this.wake();
  }
  onSocketWritable(): void {
    this.writable++;
    this.wake();
  }
  onSocketTimeout(): void {
    this.timeouts++;
    this.wake();
  }
  onSocketClose(): void {
    this.closed = true;
    this.wake();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  /** Resolves once cond() holds, checked after each event; rejects after ms. */
  until(cond: () => boolean, ms = 5000): Promise<void> {
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

function server(onConnection: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer({ allowHalfOpen: true }, onConnection);
  cleanups.push(() => srv.close());
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)));
}

/** A native listener: accepted sockets become NativeSockets owned by fresh Recorders. */
function nativeListener(): { port: number; accepted: Promise<{ socket: NativeSocket; owner: Recorder }> } {
  const bound = listenReusePort('127.0.0.1', 0, 16);
  let resolveAccepted!: (v: { socket: NativeSocket; owner: Recorder }) => void;
  const accepted = new Promise<{ socket: NativeSocket; owner: Recorder }>((r) => (resolveAccepted = r));
  const acceptor: Acceptor = startAccepting(bound.fd, (fd) => {
    const owner = new Recorder();
    resolveAccepted({ socket: NativeSocket.accept(fd, owner), owner });
  });
  cleanups.push(() => stopAccepting(acceptor));
  return { port: bound.port, accepted };
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed + (i >> 12)) & 0xff;
  return b;
}

describe('native transport', () => {
  it('connects upstream, writes strings and buffers, and reads the echo', async () => {
    const port = await server((s) => s.pipe(s));
    const owner = new Recorder();
    const sock = NativeSocket.connect('127.0.0.1', port, owner, 1000);
    expect(sock.write('queued before connect, ')).toBe(true);
    await owner.until(() => owner.connected);
    expect(sock.write(Buffer.from('then a buffer, '))).toBe(true);
    expect(sock.writev(['and ', Buffer.from('several '), 'pieces'])).toBe(true);
    const want = 'queued before connect, then a buffer, and several pieces';
    await owner.until(() => owner.received === want.length);
    expect(owner.text()).toBe(want);
    sock.close();
    await owner.until(() => owner.closed);
  });

  it('hands every ready socket of a loop turn to JS in one call', async () => {
    const peers: net.Socket[] = [];
    const port = await server((s) => peers.push(s));
    const owners = Array.from({ length: 20 }, () => new Recorder());
    const socks = owners.map((o) => NativeSocket.connect('127.0.0.1', port, o, 0));
    await Promise.all(owners.map((o) => o.until(() => o.connected)));
    await new Promise<void>((r) => {
      const wait = (): void => (peers.length === 20 ? r() : void setTimeout(wait, 5));
      wait();
    });
    const before = { ...nativeTransportStats };
    // Written in one synchronous burst: the data is in every socket by the next loop turn.
    for (const p of peers) p.write('x'.repeat(100));
    await Promise.all(owners.map((o) => o.until(() => o.received === 100)));
    const dispatches = nativeTransportStats.dispatches - before.dispatches;
    expect(nativeTransportStats.records - before.records).toBe(20);
    expect(dispatches).toBeLessThan(10);
    for (const s of socks) s.close();
    await Promise.all(owners.map((o) => o.until(() => o.closed)));
  });

  it('reads once per readiness event: no read after a short one comes back empty', async () => {
    // Node's net (libuv) reads again after a read that did not fill its buffer, until EAGAIN: one wasted
    // syscall per message. The addon reads once and waits for the next readiness event.
    let peer!: net.Socket;
    const port = await server((s) => (peer = s));
    const owner = new Recorder();
    const sock = NativeSocket.connect('127.0.0.1', port, owner, 1000);
    await owner.until(() => owner.connected && peer !== undefined);
    let events = 0;
    owner.onData = () => events++; // bytes are counted by onSocketData
    const [reads0, empty0] = transportReadCounts();
    const messages = 200;
    for (let i = 1; i <= messages; i++) {
      peer.write('m'.repeat(100));
      await owner.until(() => owner.received === i * 100);
    }
    // One large burst too: several full reads, each still one per readiness event.
    peer.write(pattern(1024 * 1024, 3));
    await owner.until(() => owner.received === messages * 100 + 1024 * 1024);
    const [reads1, empty1] = transportReadCounts();
    expect(empty1 - empty0).toBe(0);
    expect(reads1 - reads0).toBe(events); // every read brought data to JS
    expect(events).toBeGreaterThanOrEqual(messages + 1024 / 64);
    sock.close();
    await owner.until(() => owner.closed);
  });

  it('moves 20 MB each way intact through a slow reader, with backpressure', async () => {
    const size = 20 * 1024 * 1024;
    const up = pattern(size, 7);
    const down = pattern(size, 11);
    const { port, accepted } = nativeListener();
    // The peer: reads slowly at first (paused), sends `down`, and counts what it got.
    const client = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    client.pause();
    client.on('data', (d) => got.push(d));
    const { socket, owner } = await accepted;
    const chunks: Buffer[] = [];
    owner.onData = (buf, start, end) => chunks.push(Buffer.from(buf.subarray(start, end)));
    client.write(down);
    // Write `up` in 256 KiB pieces, honouring write() === false.
    let sent = 0;
    let sawFalse = false;
    const pump = (): void => {
      while (sent < size) {
        const piece = up.subarray(sent, Math.min(size, sent + 256 * 1024));
        sent += piece.length;
        if (!socket.write(piece)) {
          sawFalse = true;
          return; // the WRITABLE event resumes
        }
      }
    };
    owner.onSocketWritable = (): void => pump();
    pump();
    await new Promise((r) => setTimeout(r, 200));
    expect(sawFalse).toBe(true); // the client is not reading: the queue passed the high-water mark
    expect(sent).toBeLessThan(size);
    client.resume();
    await owner.until(() => owner.received === size, 30_000);
    await new Promise<void>((resolve) => {
      const check = (): void => (got.reduce((n, b) => n + b.length, 0) >= size ? resolve() : void setTimeout(check, 10));
      check();
    });
    expect(Buffer.concat(chunks).equals(down)).toBe(true);
    expect(Buffer.concat(got).equals(up)).toBe(true);
    client.destroy();
    await owner.until(() => owner.closed);
  }, 60_000);

  it('pauses reading: no data while paused, all of it after resume', async () => {
    let peer: net.Socket | null = null;
    const port = await server((s) => (peer = s));
    const owner = new Recorder();
    const sock = NativeSocket.connect('127.0.0.1', port, owner, 0);
    await owner.until(() => owner.connected && peer !== null);
    sock.pause();
    peer!.write('while paused');
    await new Promise((r) => setTimeout(r, 100));
    expect(owner.received).toBe(0);
    sock.resume();
    await owner.until(() => owner.received === 12);
    expect(owner.text()).toBe('while paused');
    sock.close();
  });

  it('half-closes after the queued bytes, and closes when the peer ends too', async () => {
    let peer: net.Socket | null = null;
    const peerData: Buffer[] = [];
    let peerEnded = false;
    const port = await server((s) => {
      peer = s;
      s.on('data', (d) => peerData.push(d));
      s.on('end', () => (peerEnded = true));
    });
    const owner = new Recorder();
    const sock = NativeSocket.connect('127.0.0.1', port, owner, 0);
    sock.write('last words');
    sock.shutdown();
    await new Promise<void>((r) => {
      const wait = (): void => (peerEnded ? r() : void setTimeout(wait, 5));
      wait();
    });
    expect(Buffer.concat(peerData).toString()).toBe('last words');
    // Our side is half-closed but still reads until the peer ends.
    expect(owner.closed).toBe(false);
    peer!.end('reply after our FIN');
    await owner.until(() => owner.closed);
    expect(owner.text()).toBe('reply after our FIN');
  });

  it('a peer FIN ends our side after what is queued (no half-open sockets)', async () => {
    const { port, accepted } = nativeListener();
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const got: Buffer[] = [];
    client.on('data', (d) => got.push(d));
    const clientEnded = new Promise<void>((r) => client.on('end', () => r()));
    const { socket, owner } = await accepted;
    socket.write('answer');
    client.end('question');
    await owner.until(() => owner.closed);
    await clientEnded;
    expect(owner.text()).toBe('question');
    expect(Buffer.concat(got).toString()).toBe('answer');
    client.destroy();
  });

  it('reset sends a TCP reset', async () => {
    const { port, accepted } = nativeListener();
    const client = net.connect(port, '127.0.0.1');
    const error = new Promise<NodeJS.ErrnoException>((r) => client.on('error', r));
    const { socket, owner } = await accepted;
    socket.reset();
    expect((await error).code).toBe('ECONNRESET');
    await owner.until(() => owner.closed);
  });

  it('reports a refused connect as closed with ECONNREFUSED, never connected', async () => {
    // A port that was just listening and is now closed.
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    const owner = new Recorder();
    const sock = NativeSocket.connect('127.0.0.1', port, owner, 1000);
    await owner.until(() => owner.closed);
    expect(owner.connected).toBe(false);
    expect(sock.lastError).toBe(111); // ECONNREFUSED on Linux
  });

  it('times out a connect the peer never answers', async () => {
    // A listening socket nobody accepts from, with a full backlog: the kernel drops further SYNs.
    const bound = listenReusePort('127.0.0.1', 0, 0);
    const fillers: net.Socket[] = [];
    cleanups.push(() => {
      for (const f of fillers) f.destroy();
      stopAccepting(startAccepting(bound.fd, () => {}));
    });
    for (let i = 0; i < 8; i++) fillers.push(net.connect(bound.port, '127.0.0.1').on('error', () => {}));
    await new Promise((r) => setTimeout(r, 200));
    const owner = new Recorder();
    const started = Date.now();
    const sock = NativeSocket.connect('127.0.0.1', bound.port, owner, 300);
    await owner.until(() => owner.closed, 10_000);
    expect(owner.connected).toBe(false);
    expect(sock.lastError).toBe(110); // ETIMEDOUT
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('reports an idle timeout once nothing moves', async () => {
    const port = await server(() => {});
    const owner = new Recorder();
    const sock = NativeSocket.connect('127.0.0.1', port, owner, 0);
    await owner.until(() => owner.connected);
    sock.setTimeout(150);
    await owner.until(() => owner.timeouts === 1, 3000);
    sock.close();
    await owner.until(() => owner.closed);
  });

  it('knows the peer address of an accepted socket', async () => {
    const { port, accepted } = nativeListener();
    const client = net.connect(port, '127.0.0.1');
    const { socket } = await accepted;
    expect(socket.remoteAddress).toBe('127.0.0.1');
    client.destroy();
  });
});
