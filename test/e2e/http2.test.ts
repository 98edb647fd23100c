// HTTP/2 through the proxy with real clients and servers: curl with prior
// knowledge (h2c) and over TLS (ALPN h2), Node's http2 client multiplexing
// streams, an HTTP/1.1 client to an HTTP/2 upstream and an HTTP/2 client to
// an HTTP/1.1 one, trailers, and hostile clients (rapid reset, a header list
// over the limit) that must leave the proxy serving everyone else.
import { execFile } from 'node:child_process';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, metricSum, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { downstreamTls } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

const run = promisify(execFile);
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const PROTOCOL_OPTIONS = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

let ca: TestCa;
let h1: Upstream;
let h2server: http2.Http2Server;
let h2port = 0;
let proxy: RunningProxy;
/** What the HTTP/2 upstream saw last: its HTTP version and a header. */
let h2seen: { version: string; xTest: string; streams: number; scheme: string } = { version: '', xTest: '', streams: 0, scheme: '' };

function routes(): Record<string, unknown> {
  return {
    name: 'local',
    virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
      { match: { prefix: '/h2/' }, route: { cluster: 'h2backend', timeout: '20s' } },
      { match: { prefix: '/h2one/' }, route: { cluster: 'h2one', timeout: '20s', prefix_rewrite: '/h2/' } },
      { match: { prefix: '/' }, route: { cluster: 'h1backend', timeout: '20s' } },
    ] }],
  };
}

function listener(name: string, hcmExtra: Record<string, unknown>, transportSocket?: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      ...(transportSocket !== undefined ? { transport_socket: transportSocket } : {}),
      filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: { '@type': HCM, stat_prefix: name, route_config: routes(), ...hcmExtra } }],
    }],
  };
}

function cluster(name: string, port: number, http2Options?: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    connect_timeout: '2s',
    ...(http2Options !== undefined ? {
      typed_extension_protocol_options: {
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { '@type': PROTOCOL_OPTIONS, explicit_http_config: { http2_protocol_options: http2Options } },
      },
    } : {}),
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  };
}

beforeAll(async () => {
  ca = new TestCa();
  const cert = ca.leaf({ cn: 'proxy', dns: ['localhost'] });
  h1 = await startUpstream((req, res, body) => {
    if (req.url?.startsWith('/big/')) {
      res.end(Buffer.alloc(Number(req.url.slice(5)), 'z'));
      return;
    }
    res.setHeader('x-upstream-version', req.httpVersion);
    res.end(`h1 ${req.method} ${req.url} host=${req.headers.host} cookie=${req.headers.cookie ?? ''} body=${body}`);
  });
  h2server = http2.createServer();
  h2server.on('stream', (stream, headers) => {
    h2seen = { version: '2.0', xTest: String(headers['x-test'] ?? ''), streams: h2seen.streams + 1, scheme: String(headers[':scheme']) };
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const path = String(headers[':path']);
      const body = Buffer.concat(chunks).toString();
      if (path.startsWith('/h2/slow')) {
        setTimeout(() => {
          if (!stream.destroyed) stream.respond({ ':status': 200 }, { endStream: false });
          if (!stream.destroyed) stream.end('slow');
        }, 300);
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-trailer': 'end' }));
      stream.end(`h2 ${headers[':method']} ${path} authority=${headers[':authority']} body=${body}`);
    });
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  h2port = (h2server.address() as AddressInfo).port;
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [
          listener('auto', { http2_protocol_options: { max_concurrent_streams: 50, initial_stream_window_size: 65535 } }),
          listener('tls', {}, downstreamTls({ certificates: [cert], alpn: ['h2', 'http/1.1'] })),
          listener('h1only', { codec_type: 'HTTP1' }),
          listener('small', { max_request_headers_kb: 8 }),
          listener('scheme', { scheme_header_transformation: { scheme_to_overwrite: 'https' } }),
        ],
        clusters: [
          cluster('h1backend', h1.port),
          cluster('h2backend', h2port, { max_concurrent_streams: 10 }),
          { ...cluster('h2one', h2port, {}), circuit_breakers: { thresholds: [{ max_requests: 2, max_pending_requests: 1 }] } },
        ],
      },
    },
  });
  (globalThis as { certCa?: string }).certCa = ca.certPath;
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await h1?.close();
  h2server?.close();
});

/** One HTTP/2 session to a listener; closed by the caller. */
function connect(port: number): http2.ClientHttp2Session {
  const s = http2.connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  return s;
}

function h2get(session: http2.ClientHttp2Session, path: string, headers: http2.OutgoingHttpHeaders = {}, body?: string): Promise<{ status: number; body: string; headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': body === undefined ? 'GET' : 'POST', ...headers }, { endStream: body === undefined });
    let status = 0;
    let got: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      status = Number(h[':status']);
      got = h;
    });
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString(), headers: got, trailers }));
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

describe('HTTP/2 downstream', () => {
  it('curl --http2-prior-knowledge reaches an HTTP/1.1 upstream (h2c), GET and POST', async () => {
    const port = proxy.ports.get('auto')!;
    const get = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', '\\n%{http_version} %{http_code}', `http://127.0.0.1:${port}/hello?x=1`]);
    expect(get.stdout).toBe(`h1 GET /hello?x=1 host=127.0.0.1:${port} cookie= body=\n2 200`);
    const post = await run('curl', ['-sS', '--http2-prior-knowledge', '-w', '\\n%{http_version} %{http_code}', '--data-binary', 'payload', `http://127.0.0.1:${port}/p`]);
    expect(post.stdout).toBe(`h1 POST /p host=127.0.0.1:${port} cookie= body=payload\n2 200`);
  });

  it('curl --http2 over TLS negotiates h2 by ALPN', async () => {
    const port = proxy.ports.get('tls')!;
    const r = await run('curl', ['-sS', '--http2', '--cacert', ca.certPath, '-w', '\\n%{http_version} %{http_code}', `https://localhost:${port}/secure`]);
    expect(r.stdout).toBe(`h1 GET /secure host=localhost:${port} cookie= body=\n2 200`);
  });

  it('an HTTP/1.1 client still works on an AUTO listener, and codec_type HTTP1 refuses the HTTP/2 preface', async () => {
    const r = await request(proxy.ports.get('auto')!, '/plain');
    expect(r.status).toBe(200);
    expect(r.body).toBe(`h1 GET /plain host=127.0.0.1:${proxy.ports.get('auto')} cookie= body=`);
    const refused = await run('curl', ['-sS', '--http2-prior-knowledge', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${proxy.ports.get('h1only')}/x`]).catch((e: { stdout: string }) => e);
    expect(refused.stdout).not.toBe('200');
  });

  it('multiplexes many streams on one connection; split cookies are joined for HTTP/1.1', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => h2get(session, `/m/${i}`, { cookie: ['a=1', 'b=2'] })));
    for (let i = 0; i < 40; i++) {
      expect(results[i]!.status).toBe(200);
      expect(results[i]!.body).toContain(`/m/${i} `);
      expect(results[i]!.body).toContain('cookie=a=1; b=2');
    }
    session.close();
  });

  it('a large upload and download keep flow control both ways (bodies intact)', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const big = 'x'.repeat(3 * 1024 * 1024);
    const r = await h2get(session, '/upload', {}, big);
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(`h1 POST /upload host=127.0.0.1:${proxy.ports.get('auto')} cookie= body=`.length + big.length);
    session.close();
  });
});

describe('HTTP/2 flow control', () => {
  it('a stream whose reader stalls does not stall the other streams of its connection', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const stalled = session.request({ ':path': '/big/8000000' });
    let stalledBytes = 0;
    stalled.on('data', (c: Buffer) => {
      stalledBytes += c.length;
      stalled.pause(); // stop reading: the client's window for this stream stays shut
    });
    stalled.on('error', () => {});
    await new Promise((r) => setTimeout(r, 300));
    const others = await Promise.all(Array.from({ length: 10 }, (_, i) => h2get(session, `/o/${i}`)));
    expect(others.every((r) => r.status === 200)).toBe(true);
    expect(stalledBytes).toBeLessThan(8_000_000);
    // Resumed, the stalled stream completes intact.
    const rest = new Promise<number>((resolve) => stalled.on('end', () => resolve(stalledBytes)));
    stalled.removeAllListeners('data');
    stalled.on('data', (c: Buffer) => (stalledBytes += c.length));
    stalled.resume();
    expect(await rest).toBe(8_000_000);
    session.close();
  });
});

describe('HTTP/2 upstream', () => {
  it('an HTTP/2 client reaches an HTTP/2 upstream, trailers intact', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const r = await h2get(session, '/h2/t', { 'x-test': 'yes' }, 'abc');
    expect(r.status).toBe(200);
    expect(r.body).toBe(`h2 POST /h2/t authority=127.0.0.1:${proxy.ports.get('auto')} body=abc`);
    expect(r.trailers['x-trailer']).toBe('end');
    expect(h2seen.xTest).toBe('yes');
    session.close();
  });

  it("scheme_header_transformation overwrites the :scheme an HTTP/2 upstream sees; without it, the downstream's", async () => {
    expect((await request(proxy.ports.get('scheme')!, '/h2/scheme')).status).toBe(200);
    expect(h2seen.scheme).toBe('https');
    expect((await request(proxy.ports.get('auto')!, '/h2/scheme')).status).toBe(200);
    expect(h2seen.scheme).toBe('http');
  });

  it('an HTTP/1.1 client reaches an HTTP/2 upstream', async () => {
    const r = await request(proxy.ports.get('auto')!, '/h2/from-h1', { method: 'POST', body: 'hello' });
    expect(r.status).toBe(200);
    expect(r.body).toBe(`h2 POST /h2/from-h1 authority=127.0.0.1:${proxy.ports.get('auto')} body=hello`);
  });

  it('more streams than max_concurrent_streams (10) open a second upstream connection; all are answered', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const before = h2seen.streams;
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => h2get(session, `/h2/slow/${i}`)));
    expect(results.every((r) => r.status === 200 && r.body === 'slow')).toBe(true);
    expect(h2seen.streams - before).toBe(25);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_cluster_upstream_cx_total', 'cluster_name="h2backend"')).toBeGreaterThanOrEqual(3);
    session.close();
  });
});

describe('HTTP/2 upstream circuit breakers', () => {
  it('max_requests counts streams: past it, requests get 503 UO while the admitted ones complete', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => h2get(session, `/h2one/slow/${i}`)));
    const ok = results.filter((r) => r.status === 200 && r.body === 'slow').length;
    const overflow = results.filter((r) => r.status === 503).length;
    expect(ok).toBe(2);
    expect(overflow).toBe(4);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'istio_requests_total', 'response_flags="UO"')).toBe(4);
    session.close();
  });
});

describe('HTTP/2 defences', () => {
  it('rapid reset: a client resetting its streams gets GOAWAY and a counter; others are still served', async () => {
    const session = connect(proxy.ports.get('auto')!);
    const goaway = new Promise<number>((resolve) => {
      session.on('goaway', (code) => resolve(code));
      session.on('close', () => resolve(-1));
    });
    for (let i = 0; i < 400 && !session.closed && !session.destroyed; i++) {
      const s = session.request({ ':path': `/h2/slow/r${i}` });
      s.on('error', () => {});
      s.close(http2.constants.NGHTTP2_CANCEL);
      if (i % 20 === 19) await new Promise((r) => setImmediate(r));
    }
    const code = await Promise.race([goaway, new Promise<number>((r) => setTimeout(() => r(-2), 10_000))]);
    expect(code).not.toBe(-2);
    session.destroy();
    const other = connect(proxy.ports.get('auto')!);
    expect((await h2get(other, '/still')).status).toBe(200);
    other.close();
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_rx_reset_total')).toBeGreaterThan(0);
    expect(metricSum(stats, 'isthmus_worker_downstream_http2_too_many_premature_resets_total')
      + metricSum(stats, 'isthmus_worker_downstream_http2_protocol_error_total')).toBeGreaterThan(0);
  });

  it('HPACK bomb: a small header block decoding past max_request_headers_kb is refused; others are served', async () => {
    const session = connect(proxy.ports.get('small')!);
    // One 4 KiB value repeated: HPACK indexes it once and sends a byte per repeat, 80 KiB decoded.
    const headers: http2.OutgoingHttpHeaders = { ':path': '/bomb' };
    for (let i = 0; i < 20; i++) headers[`x-b${i}`] = 'v'.repeat(4096);
    const outcome = await new Promise<string>((resolve) => {
      const s = session.request(headers);
      s.on('response', (h) => resolve(`status ${h[':status']}`));
      s.on('error', () => resolve('reset'));
      s.on('close', () => resolve(`closed ${s.rstCode}`));
    });
    expect(outcome).not.toBe('status 200');
    session.destroy();
    const other = connect(proxy.ports.get('small')!);
    expect((await h2get(other, '/fine')).status).toBe(200);
    other.close();
  });
});
