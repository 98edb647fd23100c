// What a TLS listener puts on the wire for a small response, seen from the
// wire: a recording TCP relay sits between a Node TLS client and the proxy, so
// each read of the proxy's bytes and each TLS record in them is visible. A
// 1 KB response (head and body) must leave as ONE application-data record in
// ONE send: a record per part, or a send per record, adds a record header,
// a cipher call and a wake-up per response on the mesh path (issue 12).
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from './harness.js';
import { tlsTerminationBootstrap } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

const BODY = 1024;

/** An upstream that answers every request with a 1 KB body in one write (one segment to the proxy). */
function startRawUpstream(): Promise<net.Server> {
  const response = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${BODY}\r\n\r\n`), Buffer.alloc(BODY, 'b')]);
  const server = net.createServer((socket) => {
    let seen = '';
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      for (let end = seen.indexOf('\r\n\r\n'); end >= 0; end = seen.indexOf('\r\n\r\n')) {
        seen = seen.slice(end + 4);
        socket.write(response);
      }
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A relay to `port` that records every chunk read from that side. */
function startRecordingRelay(port: number): Promise<{ server: net.Server; fromProxy: Buffer[] }> {
  const fromProxy: Buffer[] = [];
  const server = net.createServer((client) => {
    const proxy = net.connect(port, '127.0.0.1');
    proxy.setNoDelay(true);
    client.setNoDelay(true);
    client.on('data', (chunk) => proxy.write(chunk));
    proxy.on('data', (chunk) => {
      fromProxy.push(chunk);
      client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      proxy.destroy();
    };
    client.on('close', end);
    proxy.on('close', end);
    client.on('error', end);
    proxy.on('error', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, fromProxy })));
}

/** [content type, length] of each whole TLS record in bytes. */
function records(bytes: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let at = 0; at + 5 <= bytes.length;) {
    const length = bytes.readUInt16BE(at + 3);
    out.push([bytes[at]!, length]);
    at += 5 + length;
  }
  return out;
}

/** Sends one GET on the TLS socket and resolves once its whole 1 KB answer arrived. */
function get(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0 || seen.length < end + 4 + BODY) return;
      socket.off('data', onData);
      resolve(seen.subarray(0, end).toString('latin1'));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write('GET /shape HTTP/1.1\r\nhost: shape.test\r\n\r\n');
  });
}

describe.each([{ transport: 'native' }, { transport: 'node' }] as const)('--transport $transport', ({ transport }) => {
  let ca: TestCa;
  let upstream: net.Server;
  let proxy: RunningProxy;

  beforeAll(async () => {
    ca = new TestCa();
    const serverCert = ca.leaf({ cn: 'shape', dns: ['shape.test'] });
    upstream = await startRawUpstream();
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: tlsTerminationBootstrap(serverCert, (upstream.address() as net.AddressInfo).port),
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await new Promise((r) => upstream?.close(r));
  });

  it('sends a 1 KB response as one application-data record in one send', async () => {
    const relay = await startRecordingRelay(proxy.ports.get('tls')!);
    const socket = tls.connect({ port: (relay.server.address() as net.AddressInfo).port, host: '127.0.0.1', servername: 'shape.test', ca: ca.cert });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      // The first exchange also carries the session tickets; the ones after it are the steady state.
      expect(await get(socket)).toMatch(/^HTTP\/1\.1 200/);
      for (let i = 0; i < 5; i++) {
        relay.fromProxy.length = 0;
        expect(await get(socket)).toMatch(/^HTTP\/1\.1 200/);
        const shapes = relay.fromProxy.map((chunk) => records(chunk));
        // One read at the relay holding one whole record: the response left in one send as one record.
        expect(shapes).toHaveLength(1);
        expect(shapes[0]).toHaveLength(1);
        const [type, length] = shapes[0]![0]!;
        expect(type).toBe(23);
        expect(length).toBeGreaterThan(BODY + 17);
        expect(relay.fromProxy[0]!.length).toBe(5 + length);
      }
    } finally {
      socket.destroy();
      relay.server.close();
    }
  });
});
