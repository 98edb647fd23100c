// The native HTTP/2 session's defences against hostile clients written frame
// by frame on a raw socket: max_outbound_frames (frames owed to a client
// piling up faster than they can go out), SETTINGS/PING floods past
// max_outbound_control_frames, and a header block split into a CONTINUATION
// flood. Each ends that connection with GOAWAY and a counter in
// /stats/prometheus, and the proxy goes on serving other clients. Header
// names and values with CR, LF or NUL never reach the HTTP/1.1 upstream.
// Streams the proxy itself resets (its upstream broke mid-response) are not
// the client's premature resets: they never end the client's connection.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, hcmListener, metricSum, prefixRoute, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { CONTINUATION, END_HEADERS, END_STREAM, frame, GOAWAY, HEADERS, PING, rawH2Exchange, RST_STREAM } from '../support/h2-frames.js';

const ENHANCE_YOUR_CALM = 0xb;

let upstream: Upstream;
/** An HTTP/1.1 upstream that promises 100 bytes, sends 5 and closes: every response through it breaks mid-body. */
let broken: net.Server;
let proxy: RunningProxy;

/** An HPACK block for GET / with one literal header (no indexing, no Huffman; lengths < 127). */
function requestBlock(extraName: string, extraValue: string): Buffer {
  const name = Buffer.from(extraName, 'latin1');
  const value = Buffer.from(extraValue, 'latin1');
  return Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x41, 9]), Buffer.from('localhost'), Buffer.from([0x00, name.length]), name, Buffer.from([value.length]), value]);
}

/** One more HPACK literal (no indexing, new name) for a block from requestBlock. */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v]);
}

/** Sends one request (HEADERS with END_STREAM on stream 1); resolves with the frame type that answered it (HEADERS 1,
 *  RST_STREAM 3, GOAWAY 7), -1 on close, -2 after 10 s. */
function rawRequest(port: number, block: Buffer): Promise<number> {
  return rawH2Exchange(
    port,
    frame(HEADERS, END_STREAM | END_HEADERS, 1, block),
    (f) => (f.type === GOAWAY || ((f.type === HEADERS || f.type === RST_STREAM) && f.stream === 1) ? f.type : undefined),
    (why) => (why === 'closed' ? -1 : -2),
  );
}

interface Outcome {
  /** GOAWAY's error code, or -1 when the connection closed without one. */
  readonly goaway: number;
  readonly pingAcks: number;
}

/** Connects, writes the preface + SETTINGS and then `payload` in one write; resolves when the proxy sends GOAWAY or
 *  closes (-1), when `allAcks` PING acks came (-3), or after 10 s (-2). */
function attack(port: number, payload: Buffer, allAcks = -1): Promise<Outcome> {
  let pingAcks = 0;
  return rawH2Exchange<Outcome>(
    port,
    payload,
    (f) => {
      if (f.type === PING && (f.flags & 1) === 1 && ++pingAcks === allAcks) return { goaway: -3, pingAcks };
      if (f.type === GOAWAY) return { goaway: f.payload.readUInt32BE(4), pingAcks };
      return undefined;
    },
    (why) => ({ goaway: why === 'closed' ? -1 : -2, pingAcks }),
  );
}

function pings(n: number): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(frame(PING, 0, 0, Buffer.alloc(8, i & 0xff)));
  return Buffer.concat(parts);
}

async function stillServes(port: number): Promise<number> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  try {
    return await new Promise<number>((resolve, reject) => {
      const s = session.request({ ':path': '/ok' });
      s.on('response', (h) => resolve(Number(h[':status'])));
      s.on('error', reject);
      s.resume();
    });
  } finally {
    session.close();
  }
}

function listener(name: string, http2Options: Record<string, unknown>): Record<string, unknown> {
  return hcmListener(name, [prefixRoute('/broken', 'broken'), prefixRoute('/', 'up')], { hcm: { codec_type: 'HTTP2', http2_protocol_options: http2Options } });
}

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => res.end('ok'));
  broken = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.once('data', () => sock.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nhello'));
  });
  await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [
          listener('frames', { max_outbound_frames: 100 }),
          listener('control', { max_outbound_control_frames: 200 }),
          listener('defaults', {}),
        ],
        clusters: [staticCluster('up', upstream.port), staticCluster('broken', (broken.address() as AddressInfo).port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  broken?.close();
});

describe('native HTTP/2 defences', () => {
  it('max_outbound_frames: more frames owed than the limit ends the connection with a counter; under it they are answered', async () => {
    const under = await attack(proxy.ports.get('defaults')!, pings(500), 500);
    expect(under.goaway).toBe(-3); // every PING answered, no GOAWAY
    expect(under.pingAcks).toBe(500);
    const over = await attack(proxy.ports.get('frames')!, pings(500));
    expect(over.goaway === ENHANCE_YOUR_CALM || over.goaway === -1).toBe(true);
    expect(over.pingAcks).toBeLessThan(500);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_outbound_flood_total')).toBeGreaterThan(0);
    expect(await stillServes(proxy.ports.get('frames')!)).toBe(200);
  }, 30_000);

  it('a PING flood past max_outbound_control_frames gets GOAWAY ENHANCE_YOUR_CALM and a counter', async () => {
    const out = await attack(proxy.ports.get('control')!, pings(2000));
    expect(out.goaway === ENHANCE_YOUR_CALM || out.goaway === -1).toBe(true);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_inbound_control_flood_total')).toBeGreaterThan(0);
    expect(await stillServes(proxy.ports.get('control')!)).toBe(200);
  }, 30_000);

  it('a header block split into a CONTINUATION flood ends the connection; others are served', async () => {
    const block = requestBlock('x-flood', 'v'.repeat(100));
    const parts: Buffer[] = [frame(HEADERS, END_STREAM, 1, block.subarray(0, 4))];
    for (let at = 4; at < block.length; at += 4) {
      const last = at + 4 >= block.length;
      parts.push(frame(CONTINUATION, last ? END_HEADERS : 0, 1, block.subarray(at, Math.min(at + 4, block.length))));
    }
    const out = await attack(proxy.ports.get('defaults')!, Buffer.concat(parts));
    expect(out.goaway).not.toBe(-2);
    expect(out.goaway).not.toBe(0);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_continuation_flood_total')
      + metricSum(stats, 'isthmus_worker_downstream_http2_protocol_error_total')).toBeGreaterThan(0);
    expect(await stillServes(proxy.ports.get('defaults')!)).toBe(200);
  }, 30_000);

  it('a header name or value with CR, LF or NUL never reaches the HTTP/1.1 upstream; the stream is answered', async () => {
    const port = proxy.ports.get('defaults')!;
    const hostile: Array<[string, string]> = [
      ['x-a\r\nx-injected', '1'],
      ['x-a', 'v\r\nx-injected: 1'],
      ['x-a\nx-injected', '1'],
      ['x-a', 'v\nx-injected: 1'],
      ['x-a\0x-injected', '1'],
      ['x-a', 'v\0x-injected: 1'],
    ];
    for (const [i, [name, value]] of hostile.entries()) {
      const answer = await rawRequest(port, Buffer.concat([requestBlock('x-case', `bad${i}`), literal(name, value)]));
      expect([HEADERS, RST_STREAM, GOAWAY]).toContain(answer);
    }
    expect(await rawRequest(port, Buffer.concat([requestBlock('x-case', 'good'), literal('x-fine', 'yes')]))).toBe(HEADERS);
    const good = upstream.seen.find((r) => r.headers['x-case'] === 'good');
    expect(good?.headers['x-fine']).toBe('yes');
    for (const r of upstream.seen) {
      expect(r.headers['x-injected']).toBeUndefined();
      for (const v of Object.values(r.headers)) expect(String(v)).not.toMatch(/[\r\n\0]/);
    }
    expect(await stillServes(port)).toBe(200);
  }, 60_000);

  it('streams the proxy resets because their upstream broke mid-body are not the client\'s premature resets: its connection stays', async () => {
    const rxResetBefore = metricSum((await admin(proxy, '/stats/prometheus')).body, 'isthmus_worker_downstream_http2_rx_reset_total');
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.get('defaults')!}`);
    session.on('error', () => {});
    let goaway = -1;
    session.on('goaway', (code) => (goaway = code));
    // Past Envoy's rule's threshold (100 streams), every one of them reset by the proxy (INTERNAL_ERROR).
    const codes = await Promise.all(Array.from({ length: 150 }, (_, i) => new Promise<number>((resolve) => {
      const s = session.request({ ':path': `/broken/${i}` });
      s.on('error', () => {});
      s.resume();
      s.on('close', () => resolve(s.rstCode ?? -1));
    })));
    expect(goaway).toBe(-1); // no ENHANCE_YOUR_CALM: the client reset nothing
    expect(codes.filter((c) => c !== http2.constants.NGHTTP2_INTERNAL_ERROR)).toEqual([]);
    const next = await new Promise<number>((resolve, reject) => {
      const s = session.request({ ':path': '/ok' });
      s.on('response', (h) => resolve(Number(h[':status'])));
      s.on('error', reject);
      s.resume();
    });
    expect(next).toBe(200);
    session.close();
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_too_many_premature_resets_total')).toBe(0);
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_rx_reset_total')).toBe(rxResetBefore); // the client reset none
  }, 30_000);
});
