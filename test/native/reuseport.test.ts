import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, listenReusePort, reservePort } from '../../src/native.js';

const servers: net.Server[] = [];
const looseFds: number[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (const fd of looseFds.splice(0)) closeFd(fd);
});

/** A net.Server on an addon fd that counts accepted connections and closes each one at once. */
async function serveFd(fd: number): Promise<{ server: net.Server; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.end();
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => resolve());
  });
  return { server, accepted: () => accepted };
}

function connectOnce(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(5000, () => socket.destroy(new Error(`connect to ${host}:${port} timed out`)));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

function expectCode(fn: () => unknown, code: string, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(Error);
  expect((error as NodeJS.ErrnoException).code).toBe(code);
  expect((error as Error).message).toMatch(message);
}

describe('listenReusePort', () => {
  it('lets two sockets listen on one port and the kernel spreads connections over both', async () => {
    const first = listenReusePort('127.0.0.1', 0, 511);
    const second = listenReusePort('127.0.0.1', first.port, 511);
    expect(first.port).toBeGreaterThan(0);
    expect(second.port).toBe(first.port);
    expect(second.fd).not.toBe(first.fd);
    const a = await serveFd(first.fd);
    const b = await serveFd(second.fd);
    const started = Date.now();
    let connections = 0;
    // bounded: 200 connections or 10 s, stopping early once both have seen a few
    while (connections < 200 && Date.now() - started < 10_000) {
      await connectOnce('127.0.0.1', first.port);
      connections++;
      if (connections >= 40 && a.accepted() >= 5 && b.accepted() >= 5) break;
    }
    expect(a.accepted() + b.accepted()).toBe(connections);
    expect(a.accepted()).toBeGreaterThan(0);
    expect(b.accepted()).toBeGreaterThan(0);
  });

  it('works on IPv6 ::1', async () => {
    const bound = listenReusePort('::1', 0, 16);
    const s = await serveFd(bound.fd);
    expect((s.server.address() as net.AddressInfo).address).toBe('::1');
    await connectOnce('::1', bound.port);
    expect(s.accepted()).toBe(1);
  });

  it('reservePort resolves port 0 once; listeners then share that port and the reserved fd gets no connection', async () => {
    const reserved = reservePort('127.0.0.1', 0);
    looseFds.push(reserved.fd);
    expect(reserved.port).toBeGreaterThan(0);
    const listening = listenReusePort('127.0.0.1', reserved.port, 16);
    expect(listening.port).toBe(reserved.port);
    const s = await serveFd(listening.fd);
    for (let i = 0; i < 20; i++) await connectOnce('127.0.0.1', reserved.port);
    expect(s.accepted()).toBe(20);
  });

  it('fails with EADDRINUSE when a socket without SO_REUSEPORT holds the port', async () => {
    const plain = net.createServer();
    servers.push(plain);
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', () => resolve()));
    const port = (plain.address() as net.AddressInfo).port;
    expectCode(() => listenReusePort('127.0.0.1', port, 16), 'EADDRINUSE', new RegExp(`127\\.0\\.0\\.1:${port}`));
    expectCode(() => reservePort('127.0.0.1', port), 'EADDRINUSE', /address already in use/);
  });

  it('refuses host names and bad ports with clear errors', () => {
    expectCode(() => listenReusePort('localhost', 0, 16), 'EINVAL', /localhost:0.*|not an IPv4 or IPv6 literal/);
    expectCode(() => listenReusePort('[::1]', 0, 16), 'EINVAL', /not an IPv4 or IPv6 literal/);
    expect(() => listenReusePort('127.0.0.1', 70000, 16)).toThrow(RangeError);
    expect(() => listenReusePort('127.0.0.1', 0, -1)).toThrow(RangeError);
    expect(() => (listenReusePort as (...a: unknown[]) => unknown)(1234, 0, 16)).toThrow(TypeError);
  });

  it('closeFd closes an unused fd and reports EBADF for one that is not open', async () => {
    const bound = listenReusePort('127.0.0.1', 0, 16);
    closeFd(bound.fd);
    await expect(connectOnce('127.0.0.1', bound.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // not the fd just closed: another part of the process may already have reused that number
    expectCode(() => closeFd(1_000_000), 'EBADF', /close EBADF: bad file descriptor fd 1000000/);
    expect(() => closeFd(-1)).toThrow(TypeError);
  });
});
