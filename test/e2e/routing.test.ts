// Every route match type and action, through a real proxy to real upstreams.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapWith, keepAliveAgent, rawExchange, replyName, request, startProxy, startUpstream, type RunningProxy, type Upstream,
} from './harness.js';

let a: Upstream;
let b: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  a = await startUpstream(replyName('a'));
  b = await startUpstream(replyName('b'));
  const routes = [
    { match: { path: '/exact' }, route: { cluster: 'b' } },
    { match: { prefix: '/CaSe', case_sensitive: false }, route: { cluster: 'b' } },
    { match: { safe_regex: { regex: '/items/[0-9]+' } }, route: { cluster: 'b' } },
    { match: { prefix: '/h', headers: [{ name: 'x-exact', string_match: { exact: 'yes' } }] }, route: { cluster: 'b' } },
    { match: { prefix: '/h', headers: [{ name: 'x-prefix', string_match: { prefix: 'pre' } }] }, route: { cluster: 'b' } },
    { match: { prefix: '/h', headers: [{ name: 'x-suffix', string_match: { suffix: 'fix' } }] }, route: { cluster: 'b' } },
    { match: { prefix: '/h', headers: [{ name: 'x-contains', string_match: { contains: 'mid' } }] }, route: { cluster: 'b' } },
    { match: { prefix: '/h', headers: [{ name: 'x-regex', string_match: { safe_regex: { regex: 'v[0-9]' } } }] }, route: { cluster: 'b' } },
    { match: { prefix: '/h', headers: [{ name: 'x-present', present_match: true }] }, route: { cluster: 'b' } },
    {
      match: { prefix: '/h', headers: [{ name: 'x-not', string_match: { exact: 'no' }, invert_match: true }] },
      route: { cluster: 'b' },
    },
    { match: { prefix: '/q', query_parameters: [{ name: 'debug', string_match: { exact: '1' } }] }, route: { cluster: 'b' } },
    {
      match: { prefix: '/rewrite/' },
      route: { cluster: 'b', prefix_rewrite: '/v2/', host_rewrite_literal: 'backend.internal' },
    },
    { match: { prefix: '/redirect' }, redirect: { host_redirect: 'example.com', path_redirect: '/moved', response_code: 'FOUND' } },
    { match: { prefix: '/direct' }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } },
    {
      match: { prefix: '/mutate' },
      route: { cluster: 'b' },
      request_headers_to_add: [{ header: { key: 'x-added', value: 'route' }, append: false }],
      request_headers_to_remove: ['x-secret'],
      response_headers_to_add: [{ header: { key: 'x-resp', value: 'route' }, append: false }],
      response_headers_to_remove: ['x-upstream'],
    },
    { match: { prefix: '/' }, route: { cluster: 'a' } },
  ];
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      {
        virtual_hosts: [
          {
            name: 'other',
            domains: ['other.example'],
            routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'other vhost' } } }],
          },
          {
            name: 'all',
            domains: ['*'],
            routes,
            response_headers_to_add: [{ header: { key: 'x-vhost', value: 'all' }, append: false }],
          },
        ],
      },
      [
        { name: 'a', ports: [a.port] },
        { name: 'b', ports: [b.port] },
      ],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await a?.close();
  await b?.close();
});

async function which(path: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(proxy.port, path, { headers, agent: keepAliveAgent });
  expect(res.status).toBe(200);
  return res.body;
}

describe('route matching', () => {
  it('matches an exact path but not a longer one', async () => {
    expect(await which('/exact')).toBe('b');
    expect(await which('/exact/more')).toBe('a');
  });

  it('matches a prefix case-insensitively when case_sensitive is false', async () => {
    expect(await which('/case/x')).toBe('b');
    expect(await which('/CASE')).toBe('b');
  });

  it('matches safe_regex against the whole path', async () => {
    expect(await which('/items/42')).toBe('b');
    expect(await which('/items/42x')).toBe('a');
    expect(await which('/items/42?x=1')).toBe('b');
  });

  it('matches each header matcher kind', async () => {
    expect(await which('/h', { 'x-exact': 'yes' })).toBe('b');
    // Envoy: an absent header fails a value matcher even when inverted.
    expect(await which('/h', { 'x-exact': 'no' })).toBe('a');
    expect(await which('/h', { 'x-prefix': 'prefix', 'x-not': 'no' })).toBe('b');
    expect(await which('/h', { 'x-suffix': 'affix', 'x-not': 'no' })).toBe('b');
    expect(await which('/h', { 'x-contains': 'amidst', 'x-not': 'no' })).toBe('b');
    expect(await which('/h', { 'x-regex': 'v7', 'x-not': 'no' })).toBe('b');
    expect(await which('/h', { 'x-regex': 'v77', 'x-not': 'no' })).toBe('a');
    expect(await which('/h', { 'x-present': '', 'x-not': 'no' })).toBe('b');
    expect(await which('/h', { 'x-not': 'no' })).toBe('a');
    expect(await which('/h', { 'x-not': 'yes' })).toBe('b');
  });

  it('matches query parameters', async () => {
    expect(await which('/q?debug=1')).toBe('b');
    expect(await which('/q?debug=2')).toBe('a');
    expect(await which('/q')).toBe('a');
  });

  it('selects the virtual host by Host, with or without a port', async () => {
    const res = await request(proxy.port, '/', { headers: { host: 'other.example' }, agent: keepAliveAgent });
    expect(res.body).toBe('other vhost');
    const raw = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: other.example:8080\r\nConnection: close\r\n\r\n');
    expect(raw.text).toContain('other vhost');
  });

  it('routes absolute-form targets (HTTP_PROXY clients) by their authority', async () => {
    const raw = await rawExchange(
      proxy.port,
      'GET http://other.example/x HTTP/1.1\r\nHost: ignored.example\r\nConnection: close\r\n\r\n',
    );
    expect(raw.text).toMatch(/^HTTP\/1\.1 200/);
    expect(raw.text).toContain('other vhost');
  });
});

describe('route actions', () => {
  it('rewrites the prefix and the host', async () => {
    const before = b.seen.length;
    expect(await which('/rewrite/thing?x=1')).toBe('b');
    const seen = b.seen[before]!;
    expect(seen.url).toBe('/v2/thing?x=1');
    expect(seen.headers.host).toBe('backend.internal');
  });

  it('redirects with the configured host, path and code', async () => {
    const res = await request(proxy.port, '/redirect', { agent: keepAliveAgent });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://example.com/moved');
  });

  it('answers a direct_response without an upstream', async () => {
    const res = await request(proxy.port, '/direct', { agent: keepAliveAgent });
    expect(res.status).toBe(418);
    expect(res.statusMessage).toBe("I'm a Teapot"); // the standard reason phrase, not "Unknown"
    expect(res.body).toBe('short and stout');
  });

  it('adds and removes request and response headers at route and virtual-host level', async () => {
    const before = b.seen.length;
    const res = await request(proxy.port, '/mutate', { headers: { 'x-secret': 's3cret', 'x-added': 'client' }, agent: keepAliveAgent });
    expect(res.status).toBe(200);
    const seen = b.seen[before]!;
    expect(seen.headers['x-secret']).toBeUndefined();
    expect(seen.headers['x-added']).toBe('route');
    expect(res.headers['x-resp']).toBe('route');
    expect(res.headers['x-vhost']).toBe('all');
    expect(res.headers['x-upstream']).toBeUndefined();
  });

  it('leaves x-forwarded-for as received (Envoy\'s default use_remote_address false), sets x-forwarded-proto and x-request-id, and keeps a given request id', async () => {
    const before = a.seen.length;
    await which('/plain');
    await which('/plain', { 'x-request-id': 'given-id', 'x-forwarded-for': '203.0.113.9' });
    const [first, second] = [a.seen[before]!, a.seen[before + 1]!];
    expect(first.headers['x-forwarded-for']).toBeUndefined();
    expect(first.headers['x-forwarded-proto']).toBe('http');
    expect(first.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.headers['x-request-id']).toBe('given-id');
    expect(second.headers['x-forwarded-for']).toBe('203.0.113.9');
  });

  it('strips hop-by-hop headers, including ones the Connection header names', async () => {
    const before = a.seen.length;
    const raw = await rawExchange(
      proxy.port,
      'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close, x-hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nX-Keep: 1\r\n\r\n',
    );
    expect(raw.text).toMatch(/^HTTP\/1\.1 200/);
    const seen = a.seen[before]!;
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['keep-alive']).toBeUndefined();
    expect(seen.headers['te']).toBeUndefined();
    expect(seen.headers['x-keep']).toBe('1');
  });

  it('serves several keep-alive and pipelined requests on one connection in order', async () => {
    const req = (p: string): string => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const raw = await rawExchange(
      proxy.port,
      req('/direct') + req('/exact') + req('/one') + 'GET /direct HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    const codes = [...raw.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
    expect(codes).toEqual([418, 200, 200, 418]);
    expect(raw.closed).toBe(true);
  });
});
