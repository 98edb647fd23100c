// An HTTP/2 client's responses as HTTP/1.1 upstreams frame them: a content-length body, a chunked body (no
// content-length on the way out, the body whole), HEAD, 204, 304 and a zero length (HEADERS alone ends the
// stream), a body past its content-length (cut to it) and one short of it (the stream is reset, not ended as
// if whole). The upstream is a raw socket so it can misbehave.
import * as http2 from 'node:http2';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from './harness.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** The raw HTTP/1.1 answer for each path. */
const ANSWERS: Record<string, string> = {
  '/len': 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-kind: len\r\n\r\nhello',
  '/chunked': 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-kind: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n',
  '/head': 'HTTP/1.1 200 OK\r\ncontent-length: 5\r\nx-kind: head\r\n\r\n',
  '/nocontent': 'HTTP/1.1 204 No Content\r\nx-kind: 204\r\n\r\n',
  '/notmodified': 'HTTP/1.1 304 Not Modified\r\netag: "a"\r\n\r\n',
  '/empty': 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n',
};

let upstream: Server;
let proxy: RunningProxy;
const sockets = new Set<Socket>();

function answer(socket: Socket, head: string): void {
  const path = head.split(' ')[1] ?? '';
  if (path === '/short') {
    // Five of the ten bytes promised, then the connection closes.
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello');
    return;
  }
  socket.write(ANSWERS[path] ?? 'HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
}

beforeAll(async () => {
  upstream = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) >= 0) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        answer(socket, head);
      }
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [{
          name: 'h2',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM, stat_prefix: 'h2', codec_type: 'HTTP2',
            route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'raw', timeout: '10s' } }] }] },
          } }] }],
        }],
        clusters: [{
          name: 'raw', connect_timeout: '2s',
          load_assignment: { cluster_name: 'raw', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
        }],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  for (const s of sockets) s.destroy();
  upstream?.close();
});

interface Got {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
  /** The stream ended cleanly (END_STREAM), not reset. */
  ended: boolean;
  /** The RST_STREAM code when reset (0 when not). */
  resetCode: number;
  /** The DATA frames' count (0: HEADERS alone ended the stream). */
  dataFrames: number;
}

function fetch(session: http2.ClientHttp2Session, path: string, method = 'GET'): Promise<Got> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path, ':method': method });
    const got: Got = { status: 0, headers: {}, body: '', ended: false, resetCode: 0, dataFrames: 0 };
    req.on('response', (h) => {
      got.status = Number(h[':status']);
      got.headers = h;
    });
    req.on('data', (c: Buffer) => {
      got.dataFrames++;
      got.body += c.toString();
    });
    req.on('end', () => (got.ended = true));
    req.on('error', () => {});
    req.on('close', () => {
      got.resetCode = req.rstCode ?? 0;
      resolve(got);
    });
  });
}

describe('an HTTP/2 client gets HTTP/1.1 upstream responses framed as HTTP/2', () => {
  it('content-length and chunked bodies arrive whole; no connection-specific header is forwarded', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')!}`);
    session.on('error', () => {});
    try {
      const len = await fetch(session, '/len');
      expect(len).toMatchObject({ status: 200, body: 'hello', ended: true, resetCode: 0 });
      expect(len.headers['content-length']).toBe('5');
      expect(len.headers['x-kind']).toBe('len');
      const chunked = await fetch(session, '/chunked');
      expect(chunked).toMatchObject({ status: 200, body: 'abcdef', ended: true, resetCode: 0 });
      expect(chunked.headers['transfer-encoding']).toBeUndefined();
      expect(chunked.headers['x-kind']).toBe('chunked');
    } finally {
      session.close();
    }
  });

  it('HEAD, 204, 304 and a zero content-length end with their HEADERS', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')!}`);
    session.on('error', () => {});
    try {
      const head = await fetch(session, '/head', 'HEAD');
      expect(head).toMatchObject({ status: 200, body: '', ended: true, resetCode: 0, dataFrames: 0 });
      expect(head.headers['content-length']).toBe('5');
      const noContent = await fetch(session, '/nocontent');
      expect(noContent).toMatchObject({ status: 204, body: '', ended: true, resetCode: 0, dataFrames: 0 });
      expect(noContent.headers['x-kind']).toBe('204');
      const notModified = await fetch(session, '/notmodified');
      expect(notModified).toMatchObject({ status: 304, body: '', ended: true, resetCode: 0, dataFrames: 0 });
      expect(notModified.headers.etag).toBe('"a"');
      const empty = await fetch(session, '/empty');
      expect(empty).toMatchObject({ status: 200, body: '', ended: true, resetCode: 0, dataFrames: 0 });
    } finally {
      session.close();
    }
  });

  it('a body short of its content-length is not passed off as whole: the stream is reset; the session serves on', async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')!}`);
    session.on('error', () => {});
    try {
      const short = await fetch(session, '/short');
      expect(short.ended).toBe(false);
      expect(short.resetCode).not.toBe(0);
      expect(short.body.length).toBeLessThan(10);
      const after = await fetch(session, '/len');
      expect(after).toMatchObject({ status: 200, body: 'hello', ended: true });
    } finally {
      session.close();
    }
  });
});
