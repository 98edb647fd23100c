// The control admin HTTP server on real uWebSockets.js on 127.0.0.1 port 0:
// routes by method, 404/405, whole POST bodies (also in many chunks), the
// body limit, and an async handler's failure as a 500.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonReply, reply, startAdminHttp, TEXT, type AdminHttpServer } from '../../src/admin/admin-http.js';
import { createLogger } from '../../src/log.js';

let server: AdminHttpServer;

function call(method: string, path: string, chunks: readonly string[] = []): Promise<{ status: number; body: string; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']) }));
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

beforeAll(async () => {
  server = await startAdminHttp([
    { method: 'GET', path: '/hello', handle: (_body, query) => reply(200, TEXT, `hello ${query}\n`) },
    { method: 'POST', path: '/echo', handle: async (body) => jsonReply(200, { length: body.length, body }) },
    { method: 'GET', path: '/broken', handle: async () => Promise.reject(new Error('boom')) },
  ], { address: '127.0.0.1', port: 0, log: createLogger('test', 'silent'), maxBodyBytes: 1000 });
});
afterAll(() => server.close());

describe('admin http', () => {
  it('routes by path and method', async () => {
    expect(await call('GET', '/hello?x=1')).toEqual({ status: 200, body: 'hello x=1\n', type: TEXT });
    expect(await call('POST', '/hello')).toMatchObject({ status: 405, body: '/hello needs GET\n' });
    expect(await call('GET', '/nope')).toMatchObject({ status: 404, body: 'no admin endpoint /nope\n' });
    expect(await call('GET', '/broken')).toMatchObject({ status: 500, body: 'internal error: boom\n' });
  });

  it('reads a POST body whole, however it is chunked, and refuses one over the limit', async () => {
    const parts = ['kind: a\n', 'é'.repeat(100), '\n---\n'];
    const r = await call('POST', '/echo', parts);
    expect(JSON.parse(r.body)).toEqual({ length: parts.join('').length, body: parts.join('') });
    expect(await call('POST', '/echo', ['x'.repeat(1001)])).toMatchObject({ status: 413, body: 'request body over 1000 bytes\n' });
    expect((await call('POST', '/echo', ['ok'])).status).toBe(200); // the server still serves
  });
});
