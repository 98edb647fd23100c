// Half-close and reset through TLS termination behave as over plaintext
// (native-transport.test.ts): a `connection: close` answer ends with the whole
// response, close_notify and FIN, never a reset; a client that resets its TLS
// connection mid-exchange closes the upstream exchange it started, and the
// proxy serves on.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { tlsTerminationBootstrap } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

/** Both byte transports: the addon's (TLS in C++) and Node's net. */
const TRANSPORTS = [{ transport: 'native' }, { transport: 'node' }] as const;

describe.each(TRANSPORTS)('--transport $transport', ({ transport }) => {
  let ca: TestCa;
  let upstream: Upstream;
  let proxy: RunningProxy;
  /** Upstream sockets that /hold requests arrived on, and how many of them closed. */
  const held: net.Socket[] = [];
  let heldClosed = 0;

  beforeAll(async () => {
    ca = new TestCa();
    const server = ca.leaf({ cn: 'server', dns: ['localhost'] });
    upstream = await startUpstream((req, res) => {
      if (req.url === '/hold') {
        held.push(req.socket);
        req.socket.on('close', () => heldClosed++);
        req.resume();
        return;
      }
      res.end(`ok ${req.url}`);
    });
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: tlsTerminationBootstrap({ certPath: server.certPath, keyPath: server.keyPath }, upstream.port),
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  /** A TLS client over its own TCP socket (`raw`, so a test can reset it). */
  function connect(allowHalfOpen: boolean, raw = net.connect(proxy.ports.get('tls')!, '127.0.0.1')): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const sock = tls.connect({ socket: raw, ca: ca.cert, servername: 'localhost', allowHalfOpen });
      sock.once('secureConnect', () => resolve(sock));
      sock.once('error', reject);
    });
  }

  it('ends a "connection: close" answer with the whole response and an orderly close, no reset', async () => {
    const sock = await connect(true);
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    let error: Error | null = null;
    sock.on('error', (e) => (error = e));
    const ended = new Promise<void>((r) => sock.once('end', () => r()));
    sock.write('GET /last HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    await ended; // close_notify and FIN, after the whole response
    const text = Buffer.concat(chunks).toString('latin1');
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text.endsWith('ok /last')).toBe(true);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.end();
    await closed;
    expect(error).toBe(null);
  });

  it('a client reset mid-exchange closes the upstream exchange it started; the proxy serves on', async () => {
    const raw = net.connect(proxy.ports.get('tls')!, '127.0.0.1');
    raw.on('error', () => {});
    const sock = await connect(false, raw);
    sock.on('error', () => {});
    const before = held.length;
    sock.write('GET /hold HTTP/1.1\r\nhost: a\r\n\r\n');
    await waitFor('the request to reach the upstream', () => held.length > before);
    const closedBefore = heldClosed;
    raw.resetAndDestroy(); // an RST under the TLS session, no close_notify
    await waitFor('the upstream connection to close', () => heldClosed > closedBefore);
    const after = await connect(false);
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      after.on('data', (c: Buffer) => (text += c.toString('latin1')));
      after.on('close', () => resolve(text));
      after.write('GET /after HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 [^]*ok \/after$/);
  });
});
