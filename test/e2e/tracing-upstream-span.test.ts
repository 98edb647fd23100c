// spawn_upstream_span and trace_id_128bit through a real proxy: the upstream's
// trace headers name the router's CLIENT child span (x-b3-spanid, traceparent)
// and this hop's SERVER span as its parent, and the collector receives both
// spans with those ids, in 64- and 128-bit traces alike (the ids the proxy
// writes into the head are the ones its spans report).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { startZipkinReceiver, type ZipkinReceiver } from '../support/zipkin-receiver.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';


function bootstrap(app: number, zipkin: number, bits128: boolean): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [{
        name: 'inbound',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        traffic_direction: 'INBOUND',
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'inbound',
              tracing: {
                provider: {
                  name: 'envoy.tracers.zipkin',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
                    collector_cluster: 'zipkin',
                    collector_endpoint: '/api/v2/spans',
                    collector_endpoint_version: 'HTTP_JSON',
                    trace_id_128bit: bits128,
                  },
                },
                random_sampling: { value: 100 },
                spawn_upstream_span: true,
              },
              route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app', timeout: '5s' } }] }] },
            },
          }],
        }],
      }],
      clusters: [staticCluster('app', app), staticCluster('zipkin', zipkin)],
    },
  };
}

let zipkin: ZipkinReceiver;
let app: Upstream;
const proxies: RunningProxy[] = [];

beforeAll(async () => {
  zipkin = await startZipkinReceiver();
  app = await startUpstream();
}, 30_000);

afterAll(async () => {
  for (const p of proxies) await p.stop('SIGKILL');
  await app?.close();
  await zipkin?.close();
});

describe('spawn_upstream_span', () => {
  for (const bits128 of [false, true]) {
    it(`names the router's child span to the upstream and reports both spans with the same ids (${bits128 ? 128 : 64}-bit trace ids)`, async () => {
      const proxy = await startProxy({ bootstrap: bootstrap(app.port, zipkin.port, bits128) });
      proxies.push(proxy);
      const path = `/spawn-${bits128 ? 128 : 64}`;
      expect((await request(proxy.ports.get('inbound')!, path)).status).toBe(200);
      const seen = app.seen.find((r) => r.url === path)!;
      const traceId = String(seen.headers['x-b3-traceid']);
      const spanId = String(seen.headers['x-b3-spanid']);
      const parentId = String(seen.headers['x-b3-parentspanid']);
      expect(traceId).toMatch(bits128 ? /^[0-9a-f]{32}$/ : /^[0-9a-f]{16}$/);
      expect(spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(parentId).toMatch(/^[0-9a-f]{16}$/);
      expect(spanId).not.toBe(parentId);
      expect(seen.headers['x-b3-sampled']).toBe('1');
      expect(seen.headers.traceparent).toBe(`00-${traceId.padStart(32, '0')}-${spanId}-01`);
      const spans = await waitFor('the hop\'s two spans', () => {
        const s = zipkin.spans.filter((x) => x.traceId === traceId);
        return s.length >= 2 ? s : undefined;
      }, 10_000);
      expect(spans).toHaveLength(2);
      const server = spans.find((s) => s.kind === 'SERVER')!;
      const client = spans.find((s) => s.kind === 'CLIENT')!;
      expect(server.id).toBe(parentId);
      expect(server.parentId).toBeUndefined();
      expect(client.id).toBe(spanId);
      expect(client.parentId).toBe(parentId);
    });
  }
});
