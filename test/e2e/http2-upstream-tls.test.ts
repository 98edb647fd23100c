// HTTP/2 to a TLS upstream: a cluster with an UpstreamTlsContext and
// http2_protocol_options speaks h2 inside TLS, offering ALPN h2 (as Envoy does
// for an HTTP/2 cluster whose context lists no ALPN), verifying the server's
// certificate, with trailers and many streams on one connection; a server
// whose certificate does not verify is a connect failure (503).
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, hcmListener, metricSum, prefixRoute, request, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { h2Request, type H2Answer } from '../support/h2-client.js';
import { upstreamTls } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';


let ca: TestCa;
let server: http2.Http2SecureServer;
let proxy: RunningProxy;
/** What the upstream saw of each stream: ALPN, :scheme, and its session (to count connections). */
const seen: { alpn: string; scheme: string; session: unknown }[] = [];

function cluster(name: string, port: number, trustedCaPath: string): Record<string, unknown> {
  return h2Cluster(name, port, { transport_socket: upstreamTls(trustedCaPath, 'localhost') });
}

beforeAll(async () => {
  ca = new TestCa();
  const other = new TestCa('Some Other CA');
  const leaf = ca.leaf({ cn: 'upstream', dns: ['localhost'] });
  // Node's secure HTTP/2 server speaks only h2: a client that does not negotiate it by ALPN is refused.
  server = http2.createSecureServer({ cert: leaf.cert, key: leaf.key, allowHTTP1: false });
  server.on('stream', (stream, headers) => {
    seen.push({ alpn: String(stream.session?.alpnProtocol), scheme: String(headers[':scheme']), session: stream.session });
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'tls' }));
      stream.end(`tls h2 ${headers[':method']} ${headers[':path']} body=${Buffer.concat(chunks).length}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('in', [prefixRoute('/untrusted/', 'untrusted', '10s'), prefixRoute('/', 'h2tls', '10s')])],
        clusters: [cluster('h2tls', port, ca.certPath), cluster('untrusted', port, other.certPath)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  server?.close();
});

function h2request(session: http2.ClientHttp2Session, path: string, body: string): Promise<H2Answer> {
  return h2Request(session, { ':path': path, ':method': 'POST' }, body);
}

describe('HTTP/2 to a TLS upstream', () => {
  it('an HTTP/1.1 client reaches an h2-over-TLS upstream: ALPN h2, the request and body intact', async () => {
    const r = await request(proxy.port, '/one', { method: 'POST', body: 'hello' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('tls h2 POST /one body=5');
    expect(seen.at(-1)).toMatchObject({ alpn: 'h2', scheme: 'http' });
  });

  it('HTTP/2 client streams multiplex on one TLS connection, bodies and trailers intact', async () => {
    const before = new Set(seen.map((s) => s.session)).size;
    const session = http2.connect(`http://127.0.0.1:${proxy.port}`);
    session.on('error', () => {});
    const big = 'b'.repeat(300_000);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h2request(session, `/m/${i}`, i === 0 ? big : 'x')));
    session.close();
    for (let i = 0; i < 20; i++) {
      expect(results[i]!.status).toBe(200);
      expect(results[i]!.body).toBe(`tls h2 POST /m/${i} body=${i === 0 ? big.length : 1}`);
      expect(results[i]!.trailers['x-trailer']).toBe('tls');
    }
    // The 20 streams (and the earlier request) shared the pooled connection: at most one more was opened.
    expect(new Set(seen.map((s) => s.session)).size - before).toBeLessThanOrEqual(1);
  });

  it("a server certificate the cluster's CA does not sign fails the connection: 503, a handshake failure counted", async () => {
    const n = seen.length;
    const r = await request(proxy.port, '/untrusted/x');
    expect(r.status).toBe(503);
    expect(seen.length).toBe(n); // the upstream never saw the request
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_connect_fail', 'cluster_name="untrusted"')).toBeGreaterThanOrEqual(1);
  });
});
