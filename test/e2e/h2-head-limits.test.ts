// The header count limit (max_headers_count, 100 by default) on heads the
// native HTTP/2 sessions parse in C++ (the downstream request head, the
// upstream response head): JS applies its own limit to the addon's parse, so a
// head past it is refused as the parser refuses it, and one within it passes
// with every field.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';

let h2server: http2.Http2Server;
let proxy: RunningProxy;
let seen: http2.IncomingHttpHeaders = {};

/** n response (or request) fields x-f-0 .. x-f-(n-1). */
function fields(n: number, pad = 0): Record<string, string> {
  const f: Record<string, string> = {};
  for (let i = 0; i < n; i++) f[`x-f-${i}`] = `v${i}` + 'p'.repeat(pad);
  return f;
}

beforeAll(async () => {
  h2server = http2.createServer({ maxHeaderListPairs: 1000 });
  h2server.on('stream', (stream, headers) => {
    seen = headers;
    const n = Number(/\/n(\d+)/.exec(String(headers[':path']))?.[1] ?? 0);
    const pad = Number(/\/pad(\d+)/.exec(String(headers[':path']))?.[1] ?? 0);
    stream.respond({ ':status': 200, ...fields(n, pad) });
    stream.end('ok');
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('h2', [prefixRoute('/', 'h2backend', '10s')])],
        clusters: [h2Cluster('h2backend', (h2server.address() as AddressInfo).port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  h2server?.close();
});

/** One HTTP/2 request through the proxy; resolves with the response headers and body. */
function get(path: string, extra: Record<string, string>): Promise<{ headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const c = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')!}`, { maxHeaderListPairs: 1000 });
    c.on('error', reject);
    const timer = setTimeout(() => { c.destroy(); reject(new Error('no answer')); }, 8000);
    const s = c.request({ ':path': path, ...extra });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    s.on('response', (h) => (headers = h));
    s.on('data', (d: Buffer) => (body += d.latin1Slice()));
    s.on('close', () => { clearTimeout(timer); c.close(); resolve({ headers, body }); });
    s.on('error', () => {});
    s.end();
  });
}

describe('header count limit on heads parsed by the native HTTP/2 sessions', () => {
  it('a request and a response with 90 fields pass whole', async () => {
    const r = await get('/n90', fields(90));
    expect(r.headers[':status']).toBe(200);
    expect(r.body).toBe('ok');
    expect(seen['x-f-89']).toBe('v89');
    expect(r.headers['x-f-0']).toBe('v0');
    expect(r.headers['x-f-89']).toBe('v89');
  });

  it('40 responses with 36 KB heads at once on one connection all arrive whole', async () => {
    // Large heads: the addon reserves room for 5 words per 4 bytes of head to parse one in the shared arena.
    const c = http2.connect(`http://127.0.0.1:${proxy.ports.get('h2')!}`, { maxHeaderListPairs: 1000 });
    try {
      const all = await Promise.all(Array.from({ length: 40 }, (_, i) => new Promise<{ headers: http2.IncomingHttpHeaders; body: string }>((resolve, reject) => {
        const s = c.request({ ':path': `/n90/pad400/${i}` });
        let body = '';
        let headers: http2.IncomingHttpHeaders = {};
        s.on('response', (h) => (headers = h));
        s.on('data', (d: Buffer) => (body += d.latin1Slice()));
        s.on('close', () => resolve({ headers, body }));
        s.on('error', reject);
        s.end();
      })));
      for (const r of all) {
        expect(r.headers[':status']).toBe(200);
        expect(r.body).toBe('ok');
        expect(r.headers['x-f-0']).toBe('v0' + 'p'.repeat(400));
        expect(r.headers['x-f-89']).toBe('v89' + 'p'.repeat(400));
      }
    } finally {
      c.close();
    }
  });

  it('a request with more fields than max_headers_count is refused with 400 and never reaches upstream', async () => {
    seen = {};
    const r = await get('/n0', fields(150));
    expect(r.headers[':status']).toBe(400);
    expect(seen[':path']).toBeUndefined();
  });

  it('a response with more fields than max_headers_count is not relayed: the client gets a 502', async () => {
    const r = await get('/n150', {});
    expect(r.headers[':status']).toBe(502);
    expect(r.headers['x-f-0']).toBeUndefined();
  });
});
