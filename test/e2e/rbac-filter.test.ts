// envoy.filters.http.rbac end to end on a static bootstrap shaped like Envoy's
// docs' example: a DENY filter, then an ALLOW filter (as Istio chains them);
// the 403 `RBAC: access denied` and its RBAC flag, shadow rules counted and
// never enforced, RBACPerRoute disabling the filter on one route, and the
// http.<prefix>.rbac.* counters in /stats and /stats/prometheus.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { withHttpFilters } from './http-filter-config.js';

const RBAC = 'envoy.filters.http.rbac';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

let upstream: Upstream;
let proxy: RunningProxy;
let port: number;

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

beforeAll(async () => {
  upstream = await startUpstream();
  port = await freePort();
  const routes = [
    { match: { prefix: '/open' }, route: { cluster: 'backend' }, typed_per_filter_config: { [RBAC]: { '@type': PER_ROUTE_TYPE } } },
    {
      match: { prefix: '/dry' }, route: { cluster: 'backend' },
      typed_per_filter_config: { [RBAC]: { '@type': PER_ROUTE_TYPE, rbac: {
        shadow_rules: { action: 'DENY', policies: { 'dry-deny': { permissions: [{ any: true }], principals: [{ any: true }] } } },
      } } },
    },
    { match: { prefix: '/' }, route: { cluster: 'backend' } },
  ];
  const deny = {
    '@type': RBAC_TYPE,
    rules: { action: 'DENY', policies: { 'block-header': { permissions: [{ header: { name: 'x-block', present_match: true } }], principals: [{ any: true }] } } },
  };
  // Envoy's documentation example (principals by mTLS name, products readable by anyone), plus a CIDR principal.
  const allow = {
    '@type': RBAC_TYPE,
    rules: {
      action: 'ALLOW',
      policies: {
        'service-admin': {
          permissions: [{ any: true }],
          principals: [
            { authenticated: { principal_name: { exact: 'cluster.local/ns/default/sa/admin' } } },
            { authenticated: { principal_name: { exact: 'cluster.local/ns/default/sa/superuser' } } },
          ],
        },
        'product-viewer': {
          permissions: [{
            and_rules: {
              rules: [
                { header: { name: ':method', string_match: { exact: 'GET' } } },
                { url_path: { path: { prefix: '/products' } } },
                { or_rules: { rules: [{ destination_port: port }, { destination_port: 443 }] } },
              ],
            },
          }],
          principals: [{ any: true }],
        },
        'loopback-reports': {
          permissions: [{ url_path: { path: { exact: '/reports' } } }],
          principals: [{ and_ids: { ids: [{ direct_remote_ip: { address_prefix: '127.0.0.0', prefix_len: 8 } }, { not_id: { remote_ip: { address_prefix: '10.0.0.0', prefix_len: 8 } } }] } }],
        },
        'ipv6-only': {
          permissions: [{ url_path: { path: { exact: '/v6' } } }],
          principals: [{ direct_remote_ip: { address_prefix: '::1', prefix_len: 128 } }],
        },
      },
    },
  };
  const bootstrap = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes }] }, [{ name: 'backend', ports: [upstream.port] }], { listenerPort: port });
  proxy = await startProxy({
    bootstrap: withHttpFilters(bootstrap, [
      { name: RBAC, typed_config: deny },
      { name: RBAC, typed_config: allow },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ]),
    workers: 1,
    accessLog: 'file',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

describe('envoy.filters.http.rbac', () => {
  it('lets through what an ALLOW policy matches and answers 403 "RBAC: access denied" to the rest', async () => {
    expect((await request(port, '/products/42')).status).toBe(200);
    expect((await request(port, '/reports')).status).toBe(200);
    const post = await request(port, '/products/42', { method: 'POST' });
    expect(post.status).toBe(403);
    expect(post.body).toBe('RBAC: access denied');
    const other = await request(port, '/admin');
    expect(other.status).toBe(403);
    expect(other.body).toBe('RBAC: access denied');
    // An IPv6 CIDR never matches an IPv4 peer.
    expect((await request(port, '/v6')).status).toBe(403);
  });

  it('runs the DENY filter first: a denied request never reaches the ALLOW filter', async () => {
    const r = await request(port, '/products/1', { headers: { 'x-block': 'yes' } });
    expect(r.status).toBe(403);
    expect(r.body).toBe('RBAC: access denied');
  });

  it('RBACPerRoute without rbac disables the filter on that route', async () => {
    expect((await request(port, '/open/anything', { method: 'DELETE', headers: { 'x-block': '1' } })).status).toBe(200);
  });

  it('shadow rules are counted, never enforced, and the counters show in /stats and /stats/prometheus', async () => {
    const before = await admin(proxy, '/stats');
    const shadowBefore = Number(/http\.outbound\.rbac\.shadow_denied: (\d+)/.exec(before.body)?.[1] ?? '0');
    for (let i = 0; i < 3; i++) expect((await request(port, '/dry/run', { method: 'PUT' })).status).toBe(200);
    const text = (await admin(proxy, '/stats')).body;
    // The route's config is looked up by filter name, so both RBAC filters of the chain run it (as in Envoy).
    expect(Number(/http\.outbound\.rbac\.shadow_denied: (\d+)/.exec(text)?.[1])).toBe(shadowBefore + 6);
    expect(Number(/http\.outbound\.rbac\.denied: (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(4);
    expect(Number(/http\.outbound\.rbac\.allowed: (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(2);
    const prom = (await admin(proxy, '/stats/prometheus')).body;
    expect(prom).toMatch(/envoy_http_rbac_denied\{envoy_http_conn_manager_prefix="outbound"\} [1-9]/);
  });

  it('logs the RBAC response flag for a denied request', async () => {
    await request(port, '/flagged', { headers: { 'x-request-id': 'rbac-flag-1' } });
    let flag: unknown;
    for (let i = 0; i < 50 && flag === undefined; i++) {
      const lines = readFileSync(join(proxy.dir, 'access.log'), 'utf8').split('\n').filter((l) => l.startsWith('{'));
      flag = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.request_id === 'rbac-flag-1')?.response_flags;
      if (flag === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(flag).toBe('RBAC');
  });
});
