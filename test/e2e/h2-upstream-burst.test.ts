// A burst of HTTP/2 responses from an upstream in one read: more records
// (head, end, close per stream) than the addon's event array holds at once.
// The native upstream session must pause its input and go on, not end the
// whole connection (nghttp2 treats a pause asked from its frame callback as a
// fatal error, which failed every stream on the connection).
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { frame, PREFACE } from '../support/h2-frames.js';

const STREAMS = 1500;

/** A raw HTTP/2 upstream: answers the first stream at once, then waits until `STREAMS` more request heads arrived
 *  and answers all of them (":status 200",
 *  END_STREAM, 10 bytes each) in one write. */
function startBurstUpstream(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((sock) => {
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    let prefaceSeen = false;
    const ids: number[] = [];
    let warmed = false;
    const settings = Buffer.alloc(6);
    settings.writeUInt16BE(3, 0); // MAX_CONCURRENT_STREAMS
    settings.writeUInt32BE(10_000, 2);
    sock.write(frame(4, 0, 0, settings));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!prefaceSeen) {
        if (buf.length < PREFACE.length) return;
        buf = buf.subarray(PREFACE.length);
        prefaceSeen = true;
      }
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        const flags = buf[4]!;
        const id = buf.readUInt32BE(5) & 0x7fffffff;
        buf = buf.subarray(9 + len);
        if (type === 4 && (flags & 1) === 0) sock.write(frame(4, 1, 0, Buffer.alloc(0))); // SETTINGS ACK
        if (type === 1 && !warmed) {
          // The first stream (the warm-up) is answered at once: the proxy knows this connection's SETTINGS after it.
          warmed = true;
          sock.write(frame(1, 0x5, id, Buffer.from([0x88])));
        } else if (type === 1) {
          ids.push(id);
          if (ids.length === STREAMS) {
            // 0x88: ":status: 200" from the static table; END_STREAM | END_HEADERS.
            sock.write(Buffer.concat(ids.map((s) => frame(1, 0x5, s, Buffer.from([0x88])))));
          }
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

let upstream: { server: net.Server; port: number };
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startBurstUpstream();
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('h2', [prefixRoute('/', 'burst', '20s')], { hcm: { codec_type: 'HTTP2' } })],
        clusters: [h2Cluster('burst', upstream.port, { circuit_breakers: { thresholds: [{ max_requests: 10_000, max_pending_requests: 10_000 }] } })],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  upstream?.server.close();
});

function get(session: http2.ClientHttp2Session, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', () => {});
    req.on('end', () => resolve(status));
    req.on('error', () => resolve(-1));
    req.end();
  });
}

describe('HTTP/2 upstream response burst', () => {
  it(`${STREAMS} header-only responses in one upstream write are all answered 200 (the connection is not torn down)`, async () => {
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')}`);
    session.on('error', () => {});
    expect(await get(session, '/warm')).toBe(200); // one upstream connection, its SETTINGS (10000 streams) known
    const statuses = await Promise.all(Array.from({ length: STREAMS }, (_, i) => get(session, `/b${i}`)));
    const counts: Record<string, number> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts).toEqual({ 200: STREAMS });
    session.close();
  }, 40_000);
});
