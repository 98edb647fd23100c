// The upstream HTTP/2 leg under many concurrent streams (with the default
// native transport it runs on nghttp2 in the addon): requests multiplex on few
// upstream connections, never past the upstream's own SETTINGS
// max_concurrent_streams, and every one is answered with its body and
// trailers intact, within a bounded time.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, hcmListener, metricSum, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { h2Request } from '../support/h2-client.js';

/** An HTTP/2 upstream that answers after a short delay (so streams overlap) and records what it saw. */
interface CountingUpstream {
  readonly server: http2.Http2Server;
  port: number;
  sessions: number;
  streams: number;
  /** The most streams open at once on any one of its connections. */
  maxConcurrent: number;
}

function startCountingUpstream(maxConcurrentStreams?: number): Promise<CountingUpstream> {
  const server = http2.createServer(maxConcurrentStreams === undefined ? {} : { settings: { maxConcurrentStreams } });
  const up: CountingUpstream = { server, port: 0, sessions: 0, streams: 0, maxConcurrent: 0 };
  server.on('session', (session) => {
    up.sessions++;
    let open = 0;
    session.on('stream', (stream, headers) => {
      up.streams++;
      open++;
      up.maxConcurrent = Math.max(up.maxConcurrent, open);
      stream.on('close', () => open--);
      stream.on('error', () => {});
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        setTimeout(() => {
          if (stream.destroyed) return;
          stream.respond({ ':status': 200 }, { waitForTrailers: true });
          stream.on('wantTrailers', () => stream.sendTrailers({ 'x-seen': String(headers[':path']) }));
          stream.end(`${headers[':path']} ${Buffer.concat(chunks).toString()}`);
        }, 20);
      });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    up.port = (server.address() as AddressInfo).port;
    resolve(up);
  }));
}

/** An HTTP/2 upstream whose first connection sends GOAWAY (last stream id 5) on its third stream and answers only
 *  the streams up to it there, as a draining server does; every later connection answers everything. */
interface DrainingUpstream {
  readonly server: http2.Http2Server;
  port: number;
  sessions: number;
  answered: string[];
}

function startDrainingUpstream(): Promise<DrainingUpstream> {
  const server = http2.createServer();
  const up: DrainingUpstream = { server, port: 0, sessions: 0, answered: [] };
  server.on('session', (session) => {
    const first = ++up.sessions === 1;
    let lastStreamId = Infinity;
    session.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const id = stream.id ?? 0;
      if (first && id === 5) {
        lastStreamId = 5;
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, 5);
      }
      if (id > lastStreamId) {
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM); // never processed, as the GOAWAY said
        return;
      }
      stream.resume();
      stream.on('end', () => {
        up.answered.push(String(headers[':path']));
        stream.respond({ ':status': 200 });
        stream.end(`${headers[':path']} ok`);
      });
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    up.port = (server.address() as AddressInfo).port;
    resolve(up);
  }));
}

let limited: CountingUpstream;
let open: CountingUpstream;
let draining: DrainingUpstream;
/** Accepts connections and never says anything (no HTTP/2 SETTINGS). */
let silent: net.Server;
const silentSockets: net.Socket[] = [];
let proxy: RunningProxy;

beforeAll(async () => {
  limited = await startCountingUpstream(8);
  open = await startCountingUpstream();
  draining = await startDrainingUpstream();
  silent = net.createServer((sock) => silentSockets.push(sock.on('error', () => {})));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('h2', [
          prefixRoute('/limited/', 'limited', '20s'),
          prefixRoute('/draining/', 'draining', '20s'),
          prefixRoute('/silent/', 'silent', '20s'),
          prefixRoute('/', 'open', '20s'),
        ], { hcm: { codec_type: 'HTTP2' } })],
        clusters: [h2Cluster('limited', limited.port), h2Cluster('open', open.port), h2Cluster('draining', draining.port),
          h2Cluster('silent', (silent.address() as AddressInfo).port, { connect_timeout: '0.5s' })],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  limited?.server.close();
  open?.server.close();
  draining?.server.close();
  for (const sock of silentSockets) sock.destroy();
  silent?.close();
});

interface Answer { status: number; body: string; seen: string }

async function post(session: http2.ClientHttp2Session, path: string, body: string): Promise<Answer> {
  const a = await h2Request(session, { ':path': path, ':method': 'POST' }, body);
  return { status: a.status, body: a.body, seen: String(a.trailers['x-seen'] ?? '') };
}

function connect(): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')}`, { settings: { maxConcurrentStreams: 1000 } });
  s.on('error', () => {});
  return s;
}

describe('HTTP/2 upstream multiplexing', () => {
  it('200 streams at once on one client connection are all answered (bodies, trailers), never past the upstream SETTINGS limit of 8 per connection', async () => {
    const session = connect();
    expect((await post(session, '/limited/warm', 'w')).status).toBe(200); // the upstream's SETTINGS are known from here on
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => post(session, `/limited/${i}`, `b${i}`)));
    const elapsed = Date.now() - started;
    for (let i = 0; i < 200; i++) expect(answers[i]).toEqual({ status: 200, body: `/limited/${i} b${i}`, seen: `/limited/${i}` });
    expect(limited.maxConcurrent).toBeLessThanOrEqual(8);
    expect(limited.streams).toBe(201); // none refused and sent again
    // 25 rounds of a 20 ms answer if they ran one connection at a time; a stall (a window or a flush waiting on a timer) is seconds.
    expect(elapsed).toBeLessThan(15_000);
    session.close();
  }, 30_000);

  it('100 requests, 10 in flight at a time, share one upstream connection', async () => {
    const session = connect();
    const before = open.sessions;
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(session, `/r${round}/${i}`, 'x')));
      expect(answers.every((a, i) => a.status === 200 && a.body === `/r${round}/${i} x`)).toBe(true);
    }
    expect(open.sessions - before).toBeLessThanOrEqual(1);
    expect(open.sessions).toBe(1);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_total', 'cluster_name="open"')).toBe(1);
    session.close();
  }, 30_000);

  it('an upstream GOAWAY: the streams past its last stream id are sent again on a new connection, each processed once', async () => {
    const session = connect();
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(session, `/draining/${i}`, 'x')));
    for (let i = 0; i < 12; i++) expect(answers[i]).toMatchObject({ status: 200, body: `/draining/${i} ok` });
    expect([...draining.answered].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `/draining/${i}`).sort());
    expect(draining.sessions).toBe(2);
    session.close();
  }, 30_000);

  it('an upstream that accepts but never sends its SETTINGS fails within connect_timeout as a connect failure (503), not at the route timeout', async () => {
    const session = connect();
    const started = Date.now();
    const answer = await post(session, '/silent/x', 'x');
    expect(answer.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(10_000); // connect_timeout 0.5 s; the route allows 20 s
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_connect_fail', 'cluster_name="silent"')).toBeGreaterThanOrEqual(1);
    session.close();
  }, 30_000);
});
