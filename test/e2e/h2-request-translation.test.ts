// What an upstream receives for an HTTP/2 request, field by field: the exact HTTP/1.1 head an HTTP/1.1 upstream
// reads, and the header list an HTTP/2 upstream gets (in order), and the HTTP/1.1 client's hop-by-hop fields kept
// off an HTTP/2 upstream. Pins the translation (pseudo-headers to the request line and host, cookies joined with
// "; ", te and connection-specific fields dropped, the route's header edits, x-forwarded-*, x-request-id, framing)
// so a faster path through it has to give the same bytes.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { staticCluster } from '../support/tls-bootstrap.js';

let h2server: http2.Http2Server;
let h1server: net.Server;
let proxy: RunningProxy;
/** The last HTTP/1.1 request (head and body) the HTTP/1.1 upstream read. */
let h1seen = '';
/** The last header list (name, value, name, value...) the HTTP/2 upstream read, and its body. */
let h2raw: string[] = [];
let h2body = '';
/** The fields the HTTP/2 upstream got as never-indexed HPACK literals. */
let h2sensitive: unknown = [];

const ROUTE_EDITS = {
  request_headers_to_add: [{ header: { key: 'x-added', value: 'yes' } }],
  request_headers_to_remove: ['x-remove-me'],
};

beforeAll(async () => {
  h2server = http2.createServer();
  h2server.on('stream', (stream, headers, _flags, raw: string[]) => {
    h2raw = raw;
    h2sensitive = headers[http2.sensitiveHeaders];
    let body = '';
    stream.on('data', (c: Buffer) => (body += c.latin1Slice()));
    stream.on('end', () => {
      h2body = body;
      // node:http2 ends a HEAD response's stream with its head.
      stream.respond({ ':status': 200 }, { endStream: headers[':method'] === 'HEAD' });
      if (headers[':method'] !== 'HEAD') stream.end('h2');
    });
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  h1server = net.createServer((sock) => {
    let got = '';
    sock.on('data', (c: Buffer) => {
      got += c.latin1Slice();
      const headEnd = got.indexOf('\r\n\r\n');
      if (headEnd < 0) return;
      const length = /\r\ncontent-length: (\d+)\r\n/i.exec(got.slice(0, headEnd + 2));
      const chunked = /\r\ntransfer-encoding: chunked\r\n/i.test(got.slice(0, headEnd + 2));
      if (length !== null && got.length < headEnd + 4 + Number(length[1])) return;
      if (chunked && !got.endsWith('0\r\n\r\n')) return;
      h1seen = got;
      got = '';
      sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nh1');
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => h1server.listen(0, '127.0.0.1', r));
  const route = (prefix: string, cluster: string): Record<string, unknown> => ({ match: { prefix }, route: { cluster, timeout: '10s' }, ...ROUTE_EDITS });
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('auto', [route('/h2/', 'h2backend'), route('/', 'h1backend')])],
        clusters: [h2Cluster('h2backend', (h2server.address() as AddressInfo).port), staticCluster('h1backend', (h1server.address() as AddressInfo).port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  h2server?.close();
  h1server?.close();
});

/** One HTTP/2 request with these fields (arrays go as one field per value) and body; resolves with the response status. */
function h2Request(headers: http2.OutgoingHttpHeaders, body: string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const client = http2.connect(`http://127.0.0.1:${proxy.ports.get('auto')!}`);
    client.on('error', reject);
    const req = client.request(headers, { endStream: body === null });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', () => {});
    req.on('end', () => { client.close(); resolve(status); });
    req.on('error', reject);
    if (body !== null) req.end(body);
  });
}

/** The x-request-id the proxy made is random: the same placeholder for any. */
const anyId = (s: string): string => s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/g, '<id>');

const EVERY_KIND: http2.OutgoingHttpHeaders = {
  ':method': 'POST',
  ':scheme': 'http',
  ':authority': 'svc.example:8080',
  'user-agent': 'ua/1',
  cookie: ['a=1', 'b=2', 'c=3'],
  te: 'trailers',
  'x-remove-me': 'gone',
  'x-multi': ['one', 'two'],
  'content-type': 'text/plain',
};

describe('an HTTP/2 request as its upstream receives it', () => {
  it('HTTP/1.1 upstream: the exact head (request line, host from :authority, cookies joined, te dropped, route edits, x-forwarded-proto, x-request-id) and the body', async () => {
    expect(await h2Request({ ...EVERY_KIND, ':path': '/h1/a?q=1', 'content-length': '5' }, 'hello')).toBe(200);
    expect(anyId(h1seen)).toBe(
      'POST /h1/a?q=1 HTTP/1.1\r\nhost: svc.example:8080\r\nx-request-id: <id>\r\nx-forwarded-proto: http\r\n' +
        'user-agent: ua/1\r\nx-multi: one\r\nx-multi: two\r\ncontent-type: text/plain\r\ncookie: a=1; b=2; c=3\r\n' +
        'x-added: yes\r\ncontent-length: 5\r\n\r\nhello',
    );
  });

  it('HTTP/1.1 upstream: a body without content-length goes chunked; a bodiless GET has no framing', async () => {
    expect(await h2Request({ ...EVERY_KIND, ':path': '/h1/c' }, 'abc')).toBe(200);
    expect(anyId(h1seen)).toMatch(/^POST \/h1\/c HTTP\/1\.1\r\n[^]*\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n$/);
    expect(await h2Request({ ':method': 'GET', ':path': '/h1/g', ':authority': 'g.example', cookie: ['x=1', 'y=2'] }, null)).toBe(200);
    expect(anyId(h1seen)).toBe(
      'GET /h1/g HTTP/1.1\r\nhost: g.example\r\nx-request-id: <id>\r\nx-forwarded-proto: http\r\ncookie: x=1; y=2\r\nx-added: yes\r\n\r\n',
    );
  });

  it('HTTP/2 upstream: the exact header list, in order (pseudo-headers first, te dropped unless gRPC, route edits) and the body', async () => {
    expect(await h2Request({ ...EVERY_KIND, ':path': '/h2/a?q=1', 'content-length': '5' }, 'hello')).toBe(200);
    expect(anyId(h2raw.join('\n'))).toBe([
      ':method', 'POST', ':scheme', 'http', ':authority', 'svc.example:8080', ':path', '/h2/a?q=1',
      'x-request-id', '<id>', 'x-forwarded-proto', 'http', 'user-agent', 'ua/1', 'x-multi', 'one', 'x-multi', 'two',
      'content-type', 'text/plain', 'cookie', 'a=1; b=2; c=3', 'x-added', 'yes', 'content-length', '5',
    ].join('\n'));
    expect(h2body).toBe('hello');
    // A new value per request: kept out of the HPACK dynamic table, where it would only evict the fields that repeat.
    expect(h2sensitive).toContain('x-request-id');
  });

  it('HTTP/2 upstream: a bodiless GET and a HEAD carry no framing field and are answered', async () => {
    expect(await h2Request({ ':method': 'GET', ':path': '/h2/g', ':authority': 'g.example', cookie: ['x=1', 'y=2'] }, null)).toBe(200);
    expect(anyId(h2raw.join('\n'))).toBe([
      ':method', 'GET', ':scheme', 'http', ':authority', 'g.example', ':path', '/h2/g',
      'x-request-id', '<id>', 'x-forwarded-proto', 'http', 'cookie', 'x=1; y=2', 'x-added', 'yes',
    ].join('\n'));
    expect(h2body).toBe('');
    expect(await h2Request({ ':method': 'HEAD', ':path': '/h2/h', ':authority': 'g.example' }, null)).toBe(200);
    expect(h2raw.slice(0, 2)).toEqual([':method', 'HEAD']);
  });

  it('HTTP/2 upstream: a gRPC request keeps te: trailers', async () => {
    expect(await h2Request({ ':method': 'POST', ':path': '/h2/svc/M', ':authority': 'grpc.example', te: 'trailers', 'content-type': 'application/grpc' }, '\0\0\0\0\0')).toBe(200);
    expect(anyId(h2raw.join('\n'))).toBe([
      ':method', 'POST', ':scheme', 'http', ':authority', 'grpc.example', ':path', '/h2/svc/M',
      'x-request-id', '<id>', 'x-forwarded-proto', 'http', 'content-type', 'application/grpc', 'x-added', 'yes', 'te', 'trailers',
    ].join('\n'));
  });

  it('HTTP/1.1 client to an HTTP/2 upstream: hop-by-hop fields (and those Connection names) are not sent, host becomes :authority', async () => {
    const port = proxy.ports.get('auto')!;
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1');
      let got = '';
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer: ${got}`)); }, 8000);
      sock.on('data', (c: Buffer) => (got += c.latin1Slice()));
      sock.on('close', () => { clearTimeout(timer); resolve(got); });
      sock.on('error', () => {});
      sock.write('POST /h2/hop HTTP/1.1\r\nHost: h.example\r\nConnection: close, x-hop\r\nKeep-Alive: timeout=5\r\nx-hop: 1\r\n' +
        'Proxy-Connection: keep-alive\r\nTE: trailers\r\nx-keep: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    expect(anyId(h2raw.join('\n'))).toBe([
      ':method', 'POST', ':scheme', 'http', ':authority', 'h.example', ':path', '/h2/hop',
      'x-request-id', '<id>', 'x-forwarded-proto', 'http', 'x-keep', '2', 'x-added', 'yes',
    ].join('\n'));
    expect(h2body).toBe('hi');
  });
});
