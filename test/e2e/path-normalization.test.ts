// The HTTP connection manager's path normalization, through a real proxy: a
// `prefix: /admin` route that denies cannot be walked around with extra
// slashes, dot segments or percent-encoding, and the upstream receives the
// normalized path (as in Envoy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;

const ROUTES = {
  virtual_hosts: [{
    name: 'all',
    domains: ['*'],
    routes: [
      { match: { prefix: '/admin' }, direct_response: { status: 403, body: { inline_string: 'denied' } } },
      { match: { prefix: '/' }, route: { cluster: 'app' } },
    ],
  }],
};

/** A listener with these HCM path fields. */
function listener(name: string, fields: Record<string, unknown>): Record<string, unknown> {
  const l = httpListener(name, 0, ROUTES) as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] };
  Object.assign(l.filter_chains[0]!.filters[0]!.typed_config, fields);
  return l;
}

beforeAll(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [
          listener('normalized', { normalize_path: true, merge_slashes: true }),
          listener('istio_default', { normalize_path: true, path_with_escaped_slashes_action: 'KEEP_UNCHANGED' }),
          listener('reject', { normalize_path: true, path_with_escaped_slashes_action: 'REJECT_REQUEST' }),
          listener('redirect', { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' }),
          listener('forward', { normalize_path: true, merge_slashes: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_FORWARD' }),
          listener('off', {}),
        ],
        clusters: [{
          name: 'app',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'app',
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: upstream.port } } } }] }],
          },
        }],
      },
    },
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

function port(name: string): number {
  return proxy.ports.get(name)!;
}

/** The path the upstream saw for the request just sent. */
async function forwarded(listenerName: string, path: string): Promise<string> {
  const before = upstream.seen.length;
  const res = await request(port(listenerName), path);
  expect(res.status, path).toBe(200);
  return upstream.seen[before]!.url;
}

describe('normalize_path and merge_slashes', () => {
  it('deny the bypasses of a `prefix: /admin` route', async () => {
    for (const path of ['/admin', '//admin', '/x/../admin', '/./admin', '/%2e%2e/admin', '/%61dmin', '/x/%2E%2e/admin/users', '/x\\..\\admin']) {
      const res = await request(port('normalized'), path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 403, body: 'denied' });
    }
  });

  it('send the normalized path upstream, the query untouched', async () => {
    expect(await forwarded('normalized', '/app/./x/../y//z?q=/../%61')).toBe('/app/y/z?q=/../%61');
    expect(await forwarded('normalized', '/%7Euser/%41%2d%5f%30')).toBe('/~user/A-_0');
    expect(await forwarded('normalized', '/a%2Fb%20c')).toBe('/a%2Fb%20c');
  });

  it('answer 400 to a path with %00', async () => {
    const res = await request(port('normalized'), '/x%00y');
    expect(res.status).toBe(400);
  });

  it("Istio's default normalizes dot segments but does not merge slashes", async () => {
    expect((await request(port('istio_default'), '/x/../admin')).status).toBe(403);
    expect(await forwarded('istio_default', '//app//x')).toBe('//app//x');
  });

  it('leave paths alone when off (Envoy default)', async () => {
    expect(await forwarded('off', '/x/../admin')).toBe('/x/../admin');
    expect(await forwarded('off', '//admin')).toBe('//admin');
  });
});

describe('path_with_escaped_slashes_action', () => {
  it('REJECT_REQUEST answers 400 to %2F and %5C, and routes other paths', async () => {
    expect((await request(port('reject'), '/a%2fb')).status).toBe(400);
    expect((await request(port('reject'), '/a%5Cb')).status).toBe(400);
    expect(await forwarded('reject', '/a%20b')).toBe('/a%20b');
  });

  it('UNESCAPE_AND_REDIRECT answers 307 to the unescaped, normalized path', async () => {
    const res = await request(port('redirect'), '/x%2F..%2Fadmin?a=1');
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe('/admin?a=1');
    expect(await forwarded('redirect', '/x/y')).toBe('/x/y');
  });

  it('UNESCAPE_AND_FORWARD unescapes, then normalizes, before routing', async () => {
    expect((await request(port('forward'), '/x%2F..%2Fadmin')).status).toBe(403);
    expect(await forwarded('forward', '/a%2Fb%5Cc')).toBe('/a/b/c');
  });
});
