// Envoy's x-forwarded-for rules through a running proxy: transparent by
// default, appended with use_remote_address, the trusted client address from
// xff_num_trusted_hops in x-envoy-external-address, and x-envoy-internal only
// from the proxy itself. A client-supplied XFF or x-envoy-* header is never
// taken at face value.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, request, startProxy, startUpstream, type RunningProxy, type SeenRequest, type Upstream } from './harness.js';

type Json = Record<string, any>;

function listener(name: string, hcmFields: Record<string, unknown>): Json {
  const l = httpListener(name, 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] }) as Json;
  Object.assign(l.filter_chains[0].filters[0].typed_config, hcmFields);
  return l;
}

describe('x-forwarded-for (use_remote_address, xff_num_trusted_hops)', () => {
  let app: Upstream;
  let proxy: RunningProxy;

  beforeAll(async () => {
    app = await startUpstream();
    proxy = await startProxy({ bootstrap: { static_resources: {
      listeners: [
        listener('mesh', {}),
        listener('edge', { use_remote_address: true }),
        listener('edge_behind_lb', { use_remote_address: true, xff_num_trusted_hops: 1 }),
        listener('internal_two_hops', { xff_num_trusted_hops: 1 }),
        listener('edge_no_append', { use_remote_address: true, skip_xff_append: true }),
      ],
      clusters: [{ name: 'app', type: 'STATIC', load_assignment: { cluster_name: 'app', endpoints: [{ lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: app.port } } } }] }] } }],
    } } });
  });

  afterAll(async () => {
    await proxy?.stop();
    await app?.close();
  });

  async function seen(listenerName: string, headers: Record<string, string> = {}): Promise<SeenRequest['headers']> {
    const before = app.seen.length;
    const res = await request(proxy.ports.get(listenerName)!, '/', { headers });
    expect(res.status).toBe(200);
    return app.seen[before]!.headers;
  }

  it('by default (use_remote_address false) passes XFF unchanged, adds none, and drops a client x-envoy-internal', async () => {
    expect((await seen('mesh'))['x-forwarded-for']).toBeUndefined();
    const h = await seen('mesh', { 'x-forwarded-for': '203.0.113.9', 'x-envoy-internal': 'true' });
    expect(h['x-forwarded-for']).toBe('203.0.113.9');
    expect(h['x-envoy-internal']).toBeUndefined();
    expect(h['x-envoy-external-address']).toBeUndefined();
    // One internal address in XFF: an internal request, marked by the proxy.
    expect((await seen('mesh', { 'x-forwarded-for': '10.1.2.3' }))['x-envoy-internal']).toBe('true');
  });

  it('use_remote_address appends the peer and makes the peer the trusted client: a forged XFF is not believed', async () => {
    const h = await seen('edge', { 'x-forwarded-for': '198.51.100.7', 'x-envoy-external-address': '198.51.100.7', 'X-Envoy-Internal': 'true' });
    expect(h['x-forwarded-for']).toBe('198.51.100.7, 127.0.0.1');
    expect(h['x-envoy-external-address']).toBe('127.0.0.1');
    expect(h['x-envoy-internal']).toBeUndefined();
    // No XFF from a loopback peer: internal (Envoy counts loopback as internal).
    const internal = await seen('edge');
    expect(internal['x-forwarded-for']).toBe('127.0.0.1');
    expect(internal['x-envoy-internal']).toBe('true');
    expect(internal['x-envoy-external-address']).toBeUndefined();
  });

  it('xff_num_trusted_hops 1 behind a load balancer: the last XFF address is the trusted client', async () => {
    const h = await seen('edge_behind_lb', { 'x-forwarded-for': '198.51.100.99, 203.0.113.9' });
    expect(h['x-envoy-external-address']).toBe('203.0.113.9');
    expect(h['x-forwarded-for']).toBe('198.51.100.99, 203.0.113.9, 127.0.0.1');
    // Fewer addresses than hops: the peer.
    expect((await seen('edge_behind_lb'))['x-envoy-external-address']).toBeUndefined();
  });

  it('xff_num_trusted_hops without use_remote_address takes the (N+1)th address from the right, and skip_xff_append leaves XFF alone', async () => {
    const h = await seen('internal_two_hops', { 'x-forwarded-for': '10.9.9.9, 198.51.100.1' });
    expect(h['x-forwarded-for']).toBe('10.9.9.9, 198.51.100.1');
    expect(h['x-envoy-internal']).toBeUndefined();
    const noAppend = await seen('edge_no_append', { 'x-forwarded-for': '198.51.100.7' });
    expect(noAppend['x-forwarded-for']).toBe('198.51.100.7');
    expect(noAppend['x-envoy-external-address']).toBe('127.0.0.1');
  });
});
