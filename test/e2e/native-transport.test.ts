// The proxy on `--transport native` (the addon reads and writes the sockets):
// bodies both ways, slow readers on either side, half-close, resets, failed
// upstream connects, and a worker crash, seen from real clients and upstreams.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeFd, listenReusePort } from '../../src/native.js';
import { admin, bootstrapWith, closedPort, configDump, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

const MB = 1024 * 1024;
const ARGS = ['--transport', 'native'];
let upstream: Upstream;
let proxy: RunningProxy;
let refusedPort: number;
/** A port whose backlog is full and never accepted from: connects to it hang. */
let blackholePort: number;
const fillers: net.Socket[] = [];
let blackholeFd = -1;
/** Sockets the upstream's /hold requests arrived on (for the reset test). */
const held: net.Socket[] = [];
let heldClosed = 0;

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i += 4) b.writeUInt32LE((Math.imul(i, 2654435761) + seed) >>> 0, i);
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const bigDown = pattern(20 * MB, 5);

beforeAll(async () => {
  upstream = await startUpstream();
  // Replace the recording handler: streaming answers need the request before its body has arrived.
  upstream.server.removeAllListeners('request');
  upstream.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = req.url ?? '/';
    if (path === '/echo') {
      req.pipe(res); // streams the body back as it arrives (chunked)
    } else if (path === '/slow-reader') {
      // Reads nothing for 600 ms, then hashes the body.
      req.pause();
      const h = createHash('sha256');
      let n = 0;
      setTimeout(() => {
        req.on('data', (c: Buffer) => {
          h.update(c);
          n += c.length;
        });
        req.on('end', () => res.end(`${n} ${h.digest('hex')}`));
        req.resume();
      }, 600);
    } else if (path === '/download') {
      res.setHeader('content-length', bigDown.length);
      res.end(bigDown);
    } else if (path === '/hold') {
      held.push(req.socket);
      req.socket.on('close', () => heldClosed++);
      req.resume();
    } else if (path === '/reset-mid-body') {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x'.repeat(100));
      setTimeout(() => req.socket.resetAndDestroy(), 50);
    } else {
      req.resume();
      req.on('end', () => res.end('ok'));
    }
  });
  refusedPort = await closedPort();
  const bound = listenReusePort('127.0.0.1', 0, 0);
  blackholePort = bound.port;
  blackholeFd = bound.fd; // listening, never accepted from
  for (let i = 0; i < 8; i++) fillers.push(net.connect(blackholePort, '127.0.0.1').on('error', () => {}));
  await new Promise((r) => setTimeout(r, 100));
  proxy = await startProxy({
    args: ARGS,
    bootstrap: bootstrapWith(
      {
        virtual_hosts: [{
          name: 'all',
          domains: ['*'],
          routes: [
            { match: { prefix: '/refused' }, route: { cluster: 'refused', timeout: '5s' } },
            { match: { prefix: '/blackhole' }, route: { cluster: 'blackhole', timeout: '10s' } },
            { match: { prefix: '/' }, route: { cluster: 'up', timeout: '60s' } },
          ],
        }],
      },
      [
        { name: 'up', ports: [upstream.port] },
        { name: 'refused', ports: [refusedPort] },
        { name: 'blackhole', ports: [blackholePort], connect_timeout: '0.3s' },
      ],
    ),
  });
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  for (const f of fillers) f.destroy();
  if (blackholeFd >= 0) closeFd(blackholeFd);
});

/** POSTs `body` to path and returns the response body (as bytes), reading it slowly when `pauseMs` > 0. */
function exchange(path: string, body: Buffer, pauseMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path, method: 'POST', headers: { 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      if (pauseMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(path: string, pauseMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: proxy.port, path }, (res) => {
      const chunks: Buffer[] = [];
      if (pauseMs > 0) {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('--transport native', { timeout: 60_000 }, () => {
  it('says so in the ready line', () => {
    expect(proxy.lines.find((l) => l.msg === 'proxy ready')?.transport).toBe('native');
  });

  it('echoes a 20 MB body back intact (both ways at once, streamed)', async () => {
    const up = pattern(20 * MB, 9);
    const back = await exchange('/echo', up);
    expect(back.length).toBe(up.length);
    expect(sha(back)).toBe(sha(up));
  });

  it('carries 20 MB to an upstream that reads late, and 20 MB to a client that reads late, intact', async () => {
    const up = pattern(20 * MB, 13);
    expect((await exchange('/slow-reader', up)).toString()).toBe(`${up.length} ${sha(up)}`);
    const down = await get('/download', 600);
    expect(down.length).toBe(bigDown.length);
    expect(sha(down)).toBe(sha(bigDown));
  });

  it('half-closes after a "connection: close" response and reads until the client ends (no reset)', async () => {
    const socket = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    let error: Error | null = null;
    socket.on('error', (e) => (error = e));
    const ended = new Promise<void>((r) => socket.on('end', () => r()));
    socket.write('GET /x HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    await ended; // the proxy's FIN, after the whole response
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.endsWith('ok')).toBe(true);
    // Our side is still open: bytes we send now are read and dropped, not answered with a reset.
    socket.write('more bytes after the last request');
    await new Promise((r) => setTimeout(r, 100));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.end();
    await closed;
    expect(error).toBe(null);
  });

  it('a client reset closes the upstream exchange it started; the proxy serves on', async () => {
    const socket = net.connect(proxy.port, '127.0.0.1');
    socket.on('error', () => {});
    const before = held.length;
    socket.write('GET /hold HTTP/1.1\r\nhost: a\r\n\r\n');
    await waitFor('the request to reach the upstream', () => held.length > before);
    const closedBefore = heldClosed;
    socket.resetAndDestroy();
    await waitFor('the upstream connection to close', () => heldClosed > closedBefore);
    expect((await request(proxy.port, '/after')).status).toBe(200);
  });

  it('an upstream reset mid-body ends the client connection without a complete body', async () => {
    const r = await new Promise<{ got: number; complete: boolean }>((resolve) => {
      http.get({ host: '127.0.0.1', port: proxy.port, path: '/reset-mid-body' }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => (got += c.length));
        res.on('end', () => resolve({ got, complete: res.complete }));
        res.on('error', () => resolve({ got, complete: false }));
        res.on('aborted', () => resolve({ got, complete: false }));
      }).on('error', () => resolve({ got: -1, complete: false }));
    });
    expect(r.complete).toBe(false);
    expect(r.got).toBeLessThan(1000);
    expect((await request(proxy.port, '/after')).status).toBe(200);
  });

  it('answers 503 when the upstream refuses the connection', async () => {
    const r = await request(proxy.port, '/refused');
    expect(r.status).toBe(503);
  });

  it('answers 503 once connect_timeout passes for an upstream that never answers the SYN', async () => {
    const started = Date.now();
    const r = await request(proxy.port, '/blackhole');
    expect(r.status).toBe(503);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(250);
    expect(took).toBeLessThan(5000);
  });

  it('a worker crash takes only its own connections', async () => {
    const p = await startProxy({
      args: [...ARGS, '--enable-debug-endpoints'],
      workers: 2,
      bootstrap: bootstrapWith(
        { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] },
        [{ name: 'up', ports: [upstream.port] }],
      ),
    });
    try {
      // 24 kept-alive connections, spread over both workers by the kernel.
      const conns = await Promise.all(Array.from({ length: 24 }, () => keptAlive(p.port)));
      for (const c of conns) expect(await c.ask()).toBe(200);
      expect((await admin(p, '/debug/crash_worker?id=0', 'POST')).status).toBe(200);
      await waitFor('worker 0 to exit', async () => {
        const w0 = (await configDump(p)).workers.find((w) => w.workerId === 0);
        return w0 !== undefined && (w0.state !== 'running' || w0.restarts >= 1);
      });
      await waitFor('the crashed worker\'s connections to close', () => conns.some((c) => c.closed));
      const survivors = conns.filter((c) => !c.closed);
      expect(survivors.length).toBeGreaterThan(0);
      for (const c of survivors) expect(await c.ask()).toBe(200);
      expect(conns.filter((c) => c.closed).length + survivors.length).toBe(24);
    } finally {
      await p.stop('SIGKILL');
    }
  });
});

/** A raw keep-alive client connection: ask() sends one GET and resolves with the status once its body arrived. */
async function keptAlive(port: number): Promise<{ ask(): Promise<number>; readonly closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let closed = false;
  socket.on('close', () => (closed = true));
  return {
    get closed() {
      return closed;
    },
    ask(): Promise<number> {
      return new Promise((resolve, reject) => {
        let text = '';
        const onData = (c: Buffer): void => {
          text += c.toString('latin1');
          const m = /^HTTP\/1\.1 (\d+)[^]*?\r\n\r\n/.exec(text);
          const len = /content-length: (\d+)/i.exec(text);
          if (m && len && text.length >= m[0].length + Number(len[1])) {
            socket.off('data', onData);
            resolve(Number(m[1]));
          }
        };
        socket.on('data', onData);
        socket.once('close', () => reject(new Error('closed')));
        socket.write('GET /k HTTP/1.1\r\nhost: a\r\n\r\n');
      });
    },
  };
}
