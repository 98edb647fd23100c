// The control admin HTTP server on real uWebSockets.js on 127.0.0.1 port 0:
// routes by method, 404/405, whole POST bodies (also in many chunks), the
// body limit and the budget all bodies being read share, an async handler's
// failure as a 500, and the cross-origin
// guard: Host, Origin, the POST header rule, and a route's bearer token.
import { createConnection } from 'node:net';
import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonReply, reply, startAdminHttp, TEXT, type AdminHttpServer } from '../../src/admin/admin-http.js';
import { createLogger } from '../../src/log.js';

let server: AdminHttpServer;

type Result = { status: number; body: string; type: string; headers: IncomingHttpHeaders };

/** POSTs carry the admin header unless `headers` says otherwise. */
function call(method: string, path: string, chunks: readonly string[] = [], headers: OutgoingHttpHeaders = method === 'POST' ? { 'x-isthmus-admin': '1' } : {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () =>
        resolve({ status: res.statusCode ?? 0, body, type: String(res.headers['content-type']), headers: res.headers }));
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
    { method: 'POST', path: '/small', maxBodyBytes: 10, handle: (body) => reply(200, TEXT, `small ${body}\n`) },
    { method: 'POST', path: '/change', handle: () => reply(200, TEXT, `changed ${++changes}\n`) },
    { method: 'POST', path: '/write', bearer: { token: TOKEN, hint: 'see the data dir' }, handle: () => reply(200, TEXT, `written ${++changes}\n`) },
  ], { address: '127.0.0.1', port: 0, log: createLogger('test', 'silent'), maxBodyBytes: 1000, maxBufferedBodyBytes: 2500, allowedHosts: ['Admin.Example', 'other.example:8080'] });
});
let changes = 0;
const TOKEN = 'Zq3-secret_token';
afterAll(() => server.close());

describe('admin http', () => {
  it('routes by path and method', async () => {
    expect(await call('GET', '/hello?x=1')).toMatchObject({ status: 200, body: 'hello x=1\n', type: TEXT });
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
  it('refuses a body whose content-length is over the route\'s limit at once, before any of it arrives', async () => {
    expect(await call('POST', '/small', ['0123456789'])).toMatchObject({ status: 200, body: 'small 0123456789\n' });
    expect(await call('POST', '/small', ['0123456789x'])).toMatchObject({ status: 413, body: 'request body over 10 bytes\n' });
    // Headers only, the body never sent: the answer must not wait for it.
    const answered = await new Promise<string>((resolve) => {
      const socket = createConnection(server.port, '127.0.0.1');
      let text = '';
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(`no answer; got ${JSON.stringify(text)}`);
      }, 3000);
      socket.setEncoding('utf8').on('data', (c: string) => {
        text += c;
        if (!text.includes('\r\n\r\n')) return;
        clearTimeout(timer);
        socket.destroy();
        resolve(text.split('\r\n', 1)[0]!);
      });
      socket.on('error', () => {});
      socket.write('POST /small HTTP/1.1\r\nhost: 127.0.0.1\r\nx-isthmus-admin: 1\r\ncontent-length: 1000000\r\n\r\n');
    });
    expect(answered).toBe('HTTP/1.1 413 Payload Too Large');
    expect((await call('POST', '/small', ['ok'])).status).toBe(200);
  });
});

describe('admin http body budget', () => {
  it('answers 503 while held bodies fill the budget, and takes POSTs again once their connections go', async () => {
    // Three connections each send 800 of a declared 850 bytes and hold them: 2400 of the 2500-byte budget.
    const holders = Array.from({ length: 3 }, () => {
      const socket = createConnection(server.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(`POST /echo HTTP/1.1\r\nhost: 127.0.0.1\r\nx-isthmus-admin: 1\r\ncontent-length: 850\r\n\r\n${'h'.repeat(800)}`);
      return socket;
    });
    const until = async (status: number): Promise<Result> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const r = await call('POST', '/echo', ['x'.repeat(500)]);
        if (r.status === status || Date.now() > deadline) return r;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      expect(await until(503)).toMatchObject({ status: 503, body: 'admin busy: other requests\' bodies fill the 2500-byte budget; try again\n' });
      expect((await call('GET', '/hello')).status).toBe(200); // GETs never wait on the budget
    } finally {
      for (const socket of holders) socket.destroy();
    }
    expect(await until(200)).toMatchObject({ status: 200 });
  });
});

describe('admin http cross-origin guard', () => {
  const EVIL = 'http://evil.example';

  it('refuses a cross-origin simple POST (text/plain, form, multipart, no type) and runs nothing', async () => {
    const before = changes;
    for (const type of ['text/plain', 'text/plain; charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const r = await call('POST', '/change', ['a=1'], { 'content-type': type, origin: EVIL });
      expect(r.status, type).toBe(403);
      expect(r.body).toContain("Origin 'http://evil.example'");
      // Without an Origin too: a simple content type is never enough.
      const plain = await call('POST', '/change', ['a=1'], { 'content-type': type });
      expect(plain.status, type).toBe(403);
      expect(plain.body).toContain("send the header 'x-isthmus-admin: 1'");
    }
    expect((await call('POST', '/change', [], {})).status).toBe(403); // a no-cors fetch of a Blob sends no content type
    expect(changes).toBe(before);
  });

  it('lets a tool POST with the admin header or a non-simple content type, also from its own origin', async () => {
    expect(await call('POST', '/change', [], { 'x-isthmus-admin': '1' })).toMatchObject({ status: 200 });
    expect(await call('POST', '/change', ['{}'], { 'content-type': 'application/json' })).toMatchObject({ status: 200 });
    const self = `http://127.0.0.1:${server.port}`;
    expect(await call('POST', '/change', ['{}'], { 'content-type': 'application/json', origin: self })).toMatchObject({ status: 200 });
    expect(await call('POST', '/change', ['{}'], { 'x-isthmus-admin': '1', origin: 'null' })).toMatchObject({ status: 403 });
  });

  it('refuses a Host that is not localhost, an IP address or an allowed name (DNS rebinding), on GETs too', async () => {
    const port = server.port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost', `admin.example:${port}`, 'other.example:8080']) {
      expect((await call('GET', '/hello', [], { host })).status, host).toBe(200);
    }
    for (const host of [`evil.example:${port}`, 'other.example:9090', `localhost.evil.example:${port}`, `127.0.0.1.evil.example:${port}`, 'localhost:x']) {
      const r = await call('GET', '/hello', [], { host });
      expect(r.status, host).toBe(403);
      expect(r.body).toContain('DNS rebinding');
    }
    expect((await call('GET', '/nope', [], { host: 'evil.example' })).status).toBe(403);
    const before = changes;
    expect((await call('POST', '/change', [], { host: `evil.example:${port}`, 'x-isthmus-admin': '1' })).status).toBe(403);
    expect(changes).toBe(before);
  });

  it('skips a refused POST\'s body: a request hidden in it is never answered, the kept-alive connection stays in step', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (method: string, path: string, body: string, headers: OutgoingHttpHeaders) => new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, method, path, agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(`${res.statusCode} ${text}`));
      });
      req.on('error', reject);
      req.end(body);
    });
    try {
      const before = changes;
      const hidden = `POST /change HTTP/1.1\r\nhost: 127.0.0.1\r\nx-isthmus-admin: 1\r\ncontent-length: 0\r\n\r\n${'x'.repeat(100)}`;
      expect(await send('POST', '/change', hidden, { 'content-type': 'text/plain' })).toMatch(/^403 /);
      expect(await send('GET', '/hello?again', '', {})).toBe('200 hello again\n');
      expect(changes).toBe(before);
    } finally {
      agent.destroy();
    }
  });

  it('never allows a CORS preflight', async () => {
    const r = await call('OPTIONS', '/change', [], { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-isthmus-admin' });
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers['access-control-allow-headers']).toBeUndefined();
  });

  it('needs the bearer token where a route asks for it: 401 naming where it is, then accepted', async () => {
    const before = changes;
    const missing = await call('POST', '/write', ['x'], { 'content-type': 'application/yaml' });
    expect(missing.status).toBe(401);
    expect(missing.body).toBe('POST /write needs the admin token (authorization: Bearer TOKEN): see the data dir\n');
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="isthmus-admin"');
    for (const authorization of ['Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      expect((await call('POST', '/write', ['x'], { 'content-type': 'application/yaml', authorization })).status, authorization).toBe(401);
    }
    expect(changes).toBe(before);
    expect(await call('POST', '/write', ['x'], { 'content-type': 'application/yaml', authorization: `Bearer ${TOKEN}` })).toMatchObject({ status: 200 });
    expect(await call('POST', '/write', ['x'], { 'content-type': 'application/yaml', authorization: `bearer  ${TOKEN}` })).toMatchObject({ status: 200 });
  });
});
