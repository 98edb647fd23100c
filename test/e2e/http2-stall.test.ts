// The zero-window stall defence: an HTTP/2 client that never opens its
// stream window (while keeping its connection busy with PINGs, so no
// connection idle timer ends it) must not hold the proxy's buffered response
// and the upstream forever: after stream_idle_timeout the stream is reset,
// counted, and the proxy keeps serving everyone else.
import * as http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, hcmListener, metricSum, prefixRoute, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { h2Request } from '../support/h2-client.js';

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => res.end(Buffer.alloc(Number(req.url!.slice(5)), 'z')));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('in', [prefixRoute('/', 'b', '0s')], { hcm: { stream_idle_timeout: '1s' } })],
        clusters: [staticCluster('b', upstream.port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

/** A stream on a session whose client advertised a zero stream window; resolves with its close code and bytes read. */
function stalledStream(session: http2.ClientHttp2Session, path: string): Promise<{ rstCode: number; bytes: number; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    const req = session.request({ ':path': path });
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('error', () => {});
    req.on('close', () => resolve({ rstCode: req.rstCode ?? -1, bytes, ms: Date.now() - start }));
  });
}

async function flushTimeouts(): Promise<number> {
  return metricSum((await admin(proxy, '/stats/prometheus')).body, 'isthmus_worker_downstream_http2_tx_flush_timeout_total');
}

describe('HTTP/2 zero-window stall', () => {
  it('a client that never opens its window has its streams reset after stream_idle_timeout, counted; others are served', async () => {
    const before = await flushTimeouts();
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`, { settings: { initialWindowSize: 0 } });
    session.on('error', () => {});
    // PINGs every 200 ms: the connection is never idle, only its streams are stuck.
    const pinger = setInterval(() => {
      if (!session.destroyed) session.ping(() => {});
    }, 200);
    try {
      // A small response (all of it queued in the proxy) and a large one (the upstream paused behind it).
      const [small, large] = await Promise.all([stalledStream(session, '/big/1000'), stalledStream(session, '/big/4000000')]);
      expect(small.bytes).toBe(0);
      expect(large.bytes).toBe(0);
      expect(small.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(large.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(small.ms).toBeGreaterThanOrEqual(900);
      expect(small.ms).toBeLessThan(15_000);
      expect(session.destroyed).toBe(false); // the stream, not the connection
    } finally {
      clearInterval(pinger);
      session.destroy();
    }
    expect(await flushTimeouts()).toBeGreaterThanOrEqual(before + 2);
    // A well-behaved client is served as before.
    const ok = http2.connect(`http://127.0.0.1:${proxy.port}`);
    ok.on('error', () => {});
    const got = (await h2Request(ok, { ':path': '/big/70000' })).body.length;
    ok.close();
    expect(got).toBe(70000);
  }, 30_000);
});
