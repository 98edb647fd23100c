// envoy.filters.http.cors end to end (2 workers, a real node:http upstream):
// a preflight from an allowed origin is answered by the proxy and never
// reaches the upstream; actual requests get the CORS response headers; an
// origin the policy does not allow gets none, and its preflight goes to the
// upstream as Envoy forwards it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metric, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { CORS_FILTER, corsPolicy, httpFilters, withHttpFilters } from './http-filter-config.js';

let api: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  api = await startUpstream((req, res) => {
    if (req.url === '/upstream-acao') res.setHeader('access-control-allow-origin', '*');
    res.setHeader('x-upstream', 'api');
    res.end(`api ${req.method} ${req.url}`);
  });
  const hostPolicy = corsPolicy({
    allow_origin_string_match: [{ exact: 'https://app.test' }, { suffix: '.trusted.test', ignore_case: true }],
    allow_methods: 'GET, PUT, DELETE',
    allow_headers: 'content-type, x-token',
    expose_headers: 'x-upstream',
    max_age: '600',
    allow_credentials: true,
    allow_private_network_access: true,
  });
  const strictPolicy = corsPolicy({ allow_origin_string_match: [{ exact: 'https://other.test' }], allow_methods: 'GET' });
  const bootstrap = bootstrapWith(
    {
      virtual_hosts: [{
        name: 'web',
        domains: ['web'],
        typed_per_filter_config: { [CORS_FILTER]: hostPolicy },
        routes: [
          { match: { prefix: '/strict' }, route: { cluster: 'api' }, typed_per_filter_config: { [CORS_FILTER]: strictPolicy } },
          { match: { prefix: '/' }, route: { cluster: 'api' } },
        ],
      }],
    },
    [{ name: 'api', ports: [api.port] }],
  );
  proxy = await startProxy({ bootstrap: withHttpFilters(bootstrap, httpFilters({ cors: true })), workers: 2 });
});

afterAll(async () => {
  await proxy?.stop();
  await api?.close();
});

function call(path: string, method: string, headers: Record<string, string>) {
  return request(proxy.port, path, { method, headers: { host: 'web', ...headers } });
}

const CORS_NAMES = [
  'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-allow-methods',
  'access-control-allow-headers', 'access-control-max-age', 'access-control-expose-headers', 'access-control-allow-private-network',
];

function corsHeaders(h: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(CORS_NAMES.filter((n) => h[n] !== undefined).map((n) => [n, h[n]]));
}

describe('CORS preflight', () => {
  it('is answered by the proxy (200, exact headers) without reaching the upstream', async () => {
    const res = await call('/items', 'OPTIONS', {
      origin: 'https://app.test',
      'access-control-request-method': 'PUT',
      'access-control-request-headers': 'x-token',
      'access-control-request-private-network': 'true',
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe('');
    expect(corsHeaders(res.headers)).toEqual({
      'access-control-allow-origin': 'https://app.test',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET, PUT, DELETE',
      'access-control-allow-headers': 'content-type, x-token',
      'access-control-max-age': '600',
      'access-control-expose-headers': 'x-upstream',
      'access-control-allow-private-network': 'true',
    });
    // A second allowed origin (suffix, any case), and a route's own policy winning over its virtual host's
    // attribute by attribute (origins and methods from the route, the rest from the virtual host, as in Envoy).
    expect((await call('/items', 'OPTIONS', { origin: 'https://A.Trusted.test', 'access-control-request-method': 'GET' })).status).toBe(200);
    const strict = await call('/strict', 'OPTIONS', { origin: 'https://other.test', 'access-control-request-method': 'GET' });
    expect(corsHeaders(strict.headers)).toEqual({
      'access-control-allow-origin': 'https://other.test',
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET',
      'access-control-allow-headers': 'content-type, x-token',
      'access-control-max-age': '600',
      'access-control-expose-headers': 'x-upstream',
    });
    expect(api.seen.length).toBe(0);
  });

  it('from an origin the policy does not allow goes to the upstream, without CORS headers', async () => {
    const before = api.seen.length;
    const res = await call('/items', 'OPTIONS', { origin: 'https://evil.test', 'access-control-request-method': 'PUT' });
    expect(res.status).toBe(200);
    expect(res.body).toBe('api OPTIONS /items');
    expect(api.seen.length).toBe(before + 1);
    expect(corsHeaders(res.headers)).toEqual({});
  });
});

describe('CORS actual requests', () => {
  it('from an allowed origin get allow-origin (the request`s origin), credentials and expose headers on the upstream`s response', async () => {
    const res = await call('/items', 'GET', { origin: 'https://app.test' });
    expect(res.body).toBe('api GET /items');
    expect(corsHeaders(res.headers)).toEqual({
      'access-control-allow-origin': 'https://app.test',
      'access-control-allow-credentials': 'true',
      'access-control-expose-headers': 'x-upstream',
    });
    // The filter's allow-origin replaces the upstream's own.
    const replaced = await call('/upstream-acao', 'GET', { origin: 'https://app.test' });
    expect(replaced.headers['access-control-allow-origin']).toBe('https://app.test');
  });

  it('from an origin not allowed, or with no Origin, get no allow-origin', async () => {
    expect(corsHeaders((await call('/items', 'GET', { origin: 'https://evil.test' })).headers)).toEqual({});
    expect(corsHeaders((await call('/items', 'GET', {})).headers)).toEqual({});
    // The route's policy does not allow the virtual host's origins.
    expect(corsHeaders((await call('/strict', 'GET', { origin: 'https://app.test' })).headers)).toEqual({});
  });

  it('counts origin_valid and origin_invalid over both workers', async () => {
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    // Allowed: 3 preflights + 2 actual requests; not allowed: 1 preflight + 2 actual requests.
    expect(metric(stats, 'envoy_http_cors_origin_valid{envoy_http_conn_manager_prefix="outbound"}')).toBe(5);
    expect(metric(stats, 'envoy_http_cors_origin_invalid{envoy_http_conn_manager_prefix="outbound"}')).toBe(3);
  });
});
