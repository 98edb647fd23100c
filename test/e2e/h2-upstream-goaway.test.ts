// An upstream's GOAWAY that closes more open streams at once than the addon's
// event array holds (4096 records): every stream must still hear that it
// closed (unprocessed, so it is sent again on a new connection). The closes
// past a full array were dropped, and those streams hung to the route timeout.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from './harness.js';
import { frame, PREFACE } from '../support/h2-frames.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const STREAMS = 4500;

/** A raw HTTP/2 upstream. On its first connection it answers the first stream at once, then waits until `STREAMS`
 *  more request heads arrived and sends GOAWAY (last stream id: the first), closing all of them unprocessed. Later
 *  connections answer each request at once (":status 200", END_STREAM). */
function startGoawayUpstream(): Promise<{ server: net.Server; port: number }> {
  let connections = 0;
  const server = net.createServer((sock) => {
    const first = ++connections === 1;
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
        if (type !== 1) continue;
        if (!first || !warmed) {
          // 0x88: ":status: 200" from the static table; END_STREAM | END_HEADERS.
          warmed = true;
          sock.write(frame(1, 0x5, id, Buffer.from([0x88])));
        } else if (ids.push(id) === STREAMS) {
          const goaway = Buffer.alloc(8);
          goaway.writeUInt32BE(1, 0); // last stream id: the warm-up; error code 0 (NO_ERROR)
          sock.write(frame(7, 0, 0, goaway));
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

let upstream: { server: net.Server; port: number };
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startGoawayUpstream();
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [{
          name: 'h2',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM, stat_prefix: 'h2', codec_type: 'HTTP2',
            route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
              { match: { prefix: '/' }, route: { cluster: 'burst', timeout: '15s' } },
            ] }] },
          } }] }],
        }],
        clusters: [{
          name: 'burst',
          connect_timeout: '2s',
          circuit_breakers: { thresholds: [{ max_requests: 10_000, max_pending_requests: 10_000 }] },
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': PROTOCOL_OPTIONS, explicit_http_config: { http2_protocol_options: {} } },
          },
          load_assignment: { cluster_name: 'burst', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream.port } } } }] }] },
        }],
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

describe('HTTP/2 upstream GOAWAY closing many streams', () => {
  it(`a GOAWAY closing ${STREAMS} open streams unprocessed: each is sent again and answered 200 (none waits for the route timeout)`, async () => {
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
