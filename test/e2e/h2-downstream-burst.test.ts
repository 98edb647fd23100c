// A burst of HTTP/2 requests from a client in one write: more request heads
// than the addon's event array holds at once (4096 records). The native
// downstream session must pause its input and go on, not end the whole
// connection (nghttp2 treats a pause asked from its frame callback as a fatal
// error, which tore the connection down and failed every stream on it).
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { END_HEADERS, END_STREAM, frame, GOAWAY, HEADERS, PREFACE, SETTINGS } from '../support/h2-frames.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const STREAMS = 5000;

// GET / http, :authority localhost (HPACK: indexed :method/:scheme/:path, a literal :authority without Huffman added
// to the dynamic table); later requests name it by index 62, so a request is 4 bytes of block.
const FIRST_BLOCK = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x41, 9]), Buffer.from('localhost')]);
const BLOCK = Buffer.from([0x82, 0x86, 0x84, 0xbe]);
const DATA = 0x0;

interface Outcome { readonly answered: number; readonly goaway: number }

/** Writes the preface, SETTINGS and `STREAMS` requests in one write: each request's HEADERS then its empty DATA
 *  with END_STREAM (`interleaved`), or all the HEADERS first and then all the empty DATA frames. Resolves when every
 *  stream got its response HEADERS, on GOAWAY or close, or after 30 s. */
function burst(port: number, interleaved: boolean): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const answered = new Set<number>();
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (goaway: number): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ answered: answered.size, goaway });
    };
    const timer = setTimeout(() => finish(-2), 30_000);
    sock.on('connect', () => {
      const parts: Buffer[] = [PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0))];
      // Each request is HEADERS then an empty DATA with END_STREAM: two records (head, end) in 22 bytes, so one
      // socket read (64 KiB) holds more records than the event array.
      const ends: Buffer[] = [];
      for (let i = 0; i < STREAMS; i++) {
        parts.push(frame(HEADERS, END_HEADERS, 1 + 2 * i, i === 0 ? FIRST_BLOCK : BLOCK));
        (interleaved ? parts : ends).push(frame(DATA, END_STREAM, 1 + 2 * i, Buffer.alloc(0)));
      }
      parts.push(...ends);
      sock.write(Buffer.concat(parts));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const type = buf[3]!;
        if (type === GOAWAY) {
          finish(buf.readUInt32BE(9 + 4));
          return;
        }
        if (type === SETTINGS && (buf[4]! & 1) === 0) sock.write(frame(SETTINGS, 1, 0, Buffer.alloc(0)));
        if (type === HEADERS) answered.add(buf.readUInt32BE(5) & 0x7fffffff);
        buf = buf.subarray(9 + len);
      }
      if (answered.size === STREAMS) finish(0);
    });
    sock.on('error', () => finish(-1));
    sock.on('close', () => finish(-1));
  });
}

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => res.end('ok'));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [{
          name: 'h2',
          address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
          filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
            '@type': HCM, stat_prefix: 'h2', codec_type: 'HTTP2', http2_protocol_options: { max_concurrent_streams: 10_000 },
            route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
              { match: { prefix: '/' }, route: { cluster: 'up', timeout: '25s' } },
            ] }] },
          } }] }],
        }],
        clusters: [{
          name: 'up', connect_timeout: '2s',
          circuit_breakers: { thresholds: [{ max_requests: 10_000, max_pending_requests: 10_000 }] },
          load_assignment: { cluster_name: 'up', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream.port } } } }] }] },
        }],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

describe('HTTP/2 downstream request burst', () => {
  it(`${STREAMS} requests (HEADERS, empty DATA) in one client write are all answered (the connection is not torn down)`, async () => {
    const out = await burst(proxy.ports.get('h2')!, true);
    expect(out).toEqual({ answered: STREAMS, goaway: 0 });
  }, 45_000);

  it(`${STREAMS} open requests ended by empty DATA frames in one read (no callback can pause them) are all answered`, async () => {
    // 9 bytes a frame: one read holds more request ends than the event array; the ends past it wait for the next
    // batch (they ended the session before).
    const out = await burst(proxy.ports.get('h2')!, false);
    expect(out).toEqual({ answered: STREAMS, goaway: 0 });
  }, 45_000);
});
