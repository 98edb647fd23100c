// Header names that are also names of Object.prototype's members
// (constructor, tostring, __proto__) crossing between HTTP/1.1 and HTTP/2:
// a peer choosing such a name must get its own value through, never the
// text of a built-in function or a dropped header.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { staticCluster } from '../support/tls-bootstrap.js';

let h2server: http2.Http2Server;
let h1server: net.Server;
let proxy: RunningProxy;
let h2seen: Record<string, unknown> = {};

beforeAll(async () => {
  h2server = http2.createServer();
  h2server.on('stream', (stream, headers) => {
    h2seen = { ...headers };
    stream.respond({ ':status': 200 });
    stream.end('h2');
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  // An HTTP/1.1 upstream writing exact response bytes.
  h1server = net.createServer((sock) => {
    let got = '';
    sock.on('data', (c: Buffer) => {
      got += c.latin1Slice();
      if (!got.includes('\r\n\r\n')) return;
      got = '';
      sock.write('HTTP/1.1 200 OK\r\nconstructor: up-c\r\ntoString: up-t\r\nx-a: 1\r\ncontent-length: 2\r\n\r\nok');
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => h1server.listen(0, '127.0.0.1', r));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('auto', [prefixRoute('/h2/', 'h2backend', '10s'), prefixRoute('/', 'h1backend', '10s')])],
        clusters: [
          h2Cluster('h2backend', (h2server.address() as AddressInfo).port),
          staticCluster('h1backend', (h1server.address() as AddressInfo).port),
        ],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  h2server?.close();
  h1server?.close();
});

/** One raw HTTP/1.1 request; resolves with the response text once the connection is closed. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer: ${got}`)); }, 8000);
    sock.on('data', (c: Buffer) => (got += c.latin1Slice()));
    sock.on('close', () => { clearTimeout(timer); resolve(got); });
    sock.on('error', () => {});
    sock.write(text);
  });
}

describe('HTTP/2 header names that Object.prototype also has', () => {
  it('an HTTP/1.1 request to an HTTP/2 upstream carries constructor, tostring and __proto__ as sent', async () => {
    const r = await rawRequest(proxy.ports.get('auto')!,
      'GET /h2/x HTTP/1.1\r\nhost: a\r\nconstructor: c1\r\ntoString: t1\r\n__proto__: p1\r\nconnection: close\r\n\r\n');
    expect(r).toMatch(/^HTTP\/1\.1 200/);
    expect(h2seen['constructor']).toBe('c1');
    expect(h2seen['tostring']).toBe('t1');
    expect(Object.getOwnPropertyDescriptor(h2seen, '__proto__')?.value).toBe('p1');
  });

  it('an HTTP/2 client gets an HTTP/1.1 upstream\'s constructor and tostring headers as sent', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.get('auto')}`);
    session.on('error', () => {});
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ':path': '/h1' });
        let h: http2.IncomingHttpHeaders = {};
        req.on('response', (x) => (h = x));
        req.on('data', () => {});
        req.on('end', () => resolve(h));
        req.on('error', reject);
      });
      expect(headers[':status']).toBe(200);
      expect(headers['constructor']).toBe('up-c');
      expect(headers['tostring']).toBe('up-t');
    } finally {
      session.close();
    }
  });
});
