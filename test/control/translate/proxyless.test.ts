import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResourceDir, parseResources } from '../../../control/config/parse-resources.js';
import type { IstioResource } from '../../../control/config/istio-types.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { readNodeMetadata } from '../../../control/registry/node-metadata.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import {
  outboundClusterNamesForProxy, translateEndpoints, translateForProxy,
} from '../../../control/translate/translate-for-proxy.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { Snapshot } from '../../../control/xds/snapshot.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';
const ADS = { ads: {}, resource_api_version: 'V3' };
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

const grpcClient: ProxyIdentity = { id: 'grpc-1', namespace: 'default', labels: {}, proxyless: true };

async function mesh(extra = '') {
  const resources: IstioResource[] = [...await loadResourceDir(MESH), ...(extra ? parseResources(extra, 'extra.yaml') : [])];
  const registry = new ServiceRegistry();
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  return { registry, config: createMeshConfig(resources) };
}

type Json = any;
const named = (list: object[], name: string): Json => list.find((r) => (r as Json).name === name || (r as Json).cluster_name === name);
const aliases = (short: string, port: number) => {
  const names = [short, `${short}.default`, `${short}.default.svc`, `${short}.default.svc.cluster.local`];
  return [...names, ...names.map((n) => `${n}:${port}`)].sort();
};

describe('proxyless node metadata', () => {
  it('marks a node with GENERATOR=grpc (Istio\'s gRPC bootstrap) as proxyless', () => {
    const read = readNodeMetadata('grpc-1', { GENERATOR: 'grpc', NAMESPACE: 'default' });
    expect(read.problems).toEqual([]);
    expect(read.proxy).toEqual({ id: 'grpc-1', namespace: 'default', labels: {}, proxyless: true });
    expect(read.announcement).toBeUndefined();
  });

  it('announces a proxyless gRPC server at its app port (it has no inbound listener)', () => {
    const read = readNodeMetadata('ratings-grpc', {
      GENERATOR: 'grpc', SERVICE: 'ratings', INSTANCE_IPS: '127.0.0.1', APP_PORT: 9095, SERVICE_PORT: 9080, INBOUND_PORT: 25006,
    });
    expect(read.proxy.proxyless).toBe(true);
    expect(read.announcement).toMatchObject({ service: 'ratings', address: '127.0.0.1', appPort: 9095, servicePort: 9080 });
  });

  it('names any other GENERATOR value and treats the node as a sidecar', () => {
    const read = readNodeMetadata('n', { GENERATOR: 'envoy' });
    expect(read.problems).toEqual(['node metadata GENERATOR must be "grpc" (a proxyless gRPC client) or absent, got "envoy"']);
    expect(read.proxy.proxyless).toBeUndefined();
  });
});

describe('translateForProxy for a proxyless gRPC client on examples/mesh', () => {
  it('gives an api_listener per name a client may dial, and no sidecar listeners', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(grpcClient, config, registry);
    const names = out.listeners.map((l: Json) => l.name);
    expect(names).toEqual([...aliases('ratings', 9080), ...aliases('reviews', 9080)].sort());
    expect(names).not.toContain('outbound');
    expect(names).not.toContain('inbound');
    for (const name of [REVIEWS, `${REVIEWS}:9080`, 'reviews:9080']) {
      expect(named(out.listeners, name)).toEqual({
        name,
        api_listener: {
          api_listener: {
            '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            stat_prefix: name,
            rds: { route_config_name: `${REVIEWS}:9080`, config_source: ADS },
            http_filters: [ROUTER],
          },
        },
      });
    }
  });

  it('routes like the sidecar: jason to v3 by header, the rest 90/10, timeout as max_stream_duration', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(grpcClient, config, registry);
    expect(out.routes.map((r: Json) => r.name)).toEqual([`${RATINGS}:9080`, `${REVIEWS}:9080`]);
    const route: Json = named(out.routes, `${REVIEWS}:9080`);
    expect(route.virtual_hosts).toHaveLength(1);
    const vhost = route.virtual_hosts[0];
    expect(vhost.domains).toEqual(aliases('reviews', 9080));
    const [jason, split] = vhost.routes;
    expect(jason.match).toEqual({ prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] });
    expect(jason.route.cluster).toBe(`outbound|9080|v3|${REVIEWS}`);
    expect(jason.route.hash_policy).toEqual([{ header: { header_name: 'x-user' } }]);
    expect(jason.route.max_stream_duration).toBeUndefined(); // no timeout: the caller's deadline stands
    expect(split.route.weighted_clusters.clusters.map((c: Json) => [c.name, c.weight.value])).toEqual([
      [`outbound|9080|v1|${REVIEWS}`, 90], [`outbound|9080|v2|${REVIEWS}`, 10],
    ]);
    const fiveSeconds = { seconds: 5, nanos: 0 };
    expect(split.route.max_stream_duration).toEqual({ max_stream_duration: fiveSeconds, grpc_timeout_header_max: fiveSeconds });
    expect(split.route.retry_policy).toMatchObject({ retry_on: 'connect-failure,refused-stream,unavailable', num_retries: { value: 2 } });
    // No VirtualService for ratings: the default route to its cluster.
    expect(named(out.routes, `${RATINGS}:9080`).virtual_hosts[0].routes[0].route.cluster).toBe(`outbound|9080||${RATINGS}`);
  });

  it('sends the sidecar\'s clusters with an lb_policy gRPC implements', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(grpcClient, config, registry);
    const sidecar = translateForProxy({ id: 'pp', namespace: 'default', labels: {} }, config, registry);
    expect(out.clusters.map((c: Json) => c.name)).toEqual(sidecar.clusters.map((c: Json) => c.name));
    expect(outboundClusterNamesForProxy(grpcClient, config, registry)).toEqual(out.clusters.map((c: Json) => c.name));
    // DestinationRule LEAST_REQUEST becomes ROUND_ROBIN; the v3 subset's consistent hash stays RING_HASH.
    expect(named(out.clusters, `outbound|9080|v1|${REVIEWS}`)).toMatchObject({
      type: 'EDS', lb_policy: 'ROUND_ROBIN', eds_cluster_config: { eds_config: ADS, service_name: `outbound|9080|v1|${REVIEWS}` },
      outlier_detection: { consecutive_5xx: { value: 5 } },
    });
    expect(named(out.clusters, `outbound|9080|v3|${REVIEWS}`)).toMatchObject({ lb_policy: 'RING_HASH' });
    expect(named(out.clusters, `outbound|9080||${RATINGS}`)).toMatchObject({ lb_policy: 'ROUND_ROBIN' });
  });

  it('gives every locality a locality and a weight, so gRPC uses its endpoints', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(grpcClient, config, registry);
    expect(named(out.endpoints, `outbound|9080||${REVIEWS}`)).toEqual({
      cluster_name: `outbound|9080||${REVIEWS}`,
      endpoints: [{
        locality: {},
        load_balancing_weight: { value: 3 },
        lb_endpoints: [9081, 9082, 9083].map((port) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } }, load_balancing_weight: { value: 1 },
        })),
      }],
    });
    expect(named(out.endpoints, `outbound|9080|v2|${REVIEWS}`).endpoints[0].lb_endpoints).toHaveLength(1);
    // An EDS-only push gives the same assignments.
    const names = [`outbound|9080|v2|${REVIEWS}`, `outbound|9080||${RATINGS}`];
    expect(translateEndpoints(grpcClient, names, config, registry)).toEqual(names.sort().map((n) => named(out.endpoints, n)));
  });

  it('produces resources the xDS encoder accepts', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(grpcClient, config, registry);
    const snapshot = new Snapshot({
      [TYPE_URL.CLUSTER]: { version: '1', resources: out.clusters },
      [TYPE_URL.ENDPOINT]: { version: '1', resources: out.endpoints },
      [TYPE_URL.LISTENER]: { version: '1', resources: out.listeners },
      [TYPE_URL.ROUTE]: { version: '1', resources: out.routes },
    });
    expect(() => snapshot.encode()).not.toThrow();
    expect(snapshot.consistent()).toEqual([]);
  });

  it('sees only what its Sidecar allows, and no short names from another namespace', async () => {
    const { registry, config } = await mesh();
    const other = translateForProxy({ ...grpcClient, id: 'g2', namespace: 'shop' }, config, registry);
    // No Sidecar in `shop`: every service, but `reviews` alone names nothing there.
    expect(other.listeners.map((l: Json) => l.name)).not.toContain('reviews');
    expect(other.listeners.map((l: Json) => l.name)).toContain('reviews.default:9080');
  });
});

describe('proxyless routes keep to what gRPC accepts', () => {
  const RATINGS_VS = `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - name: old
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new}
  - name: teapot
    match: [{uri: {regex: "/tea.*"}}]
    directResponse: {status: 418}
  - name: debug
    match: [{uri: {prefix: /api}, queryParams: {debug: {exact: "1"}}}]
    route: [{destination: {host: ratings}}]
  - name: flaky
    match: [{uri: {prefix: /ratings.Ratings/}}]
    route: [{destination: {host: ratings}}]
    fault:
      abort: {httpStatus: 503, percentage: {value: 10}}
    corsPolicy:
      allowOrigins: [{exact: "https://a.example"}]
  - name: rest
    route: [{destination: {host: ratings}}]
`;

  it('drops redirect, direct response and query-parameter routes and CORS config, and keeps fault injection', async () => {
    const { registry, config } = await mesh(RATINGS_VS);
    const out = translateForProxy(grpcClient, config, registry);
    const routes: Json[] = named(out.routes, `${RATINGS}:9080`).virtual_hosts[0].routes;
    expect(routes.map((r) => r.name)).toEqual(['flaky', 'rest']);
    expect(Object.keys(routes[0].typed_per_filter_config)).toEqual(['envoy.filters.http.fault']);
    expect(routes[0].match).toEqual({ prefix: '/ratings.Ratings/' });
    // The fault filter is on the listeners of that port only, before the router.
    expect(named(out.listeners, 'ratings').api_listener.api_listener.http_filters.map((f: Json) => f.name))
      .toEqual(['envoy.filters.http.fault', 'envoy.filters.http.router']);
    expect(named(out.listeners, 'reviews').api_listener.api_listener.http_filters).toEqual([ROUTER]);
    // The sidecar still gets every route.
    const sidecar = translateForProxy({ id: 'pp', namespace: 'default', labels: {} }, config, registry);
    const sidecarRatings = (sidecar.routes[0] as Json).virtual_hosts.find((v: Json) => v.name === `${RATINGS}:9080`);
    expect(sidecarRatings.routes.map((r: Json) => r.name)).toEqual(['old', 'teapot', 'debug', 'flaky', 'rest']);
  });
});

describe('proxyless mTLS (certificate provider instances, as Istio\'s grpc generator)', () => {
  const ISTIO_MUTUAL = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: ratings-mtls, namespace: default}
spec:
  host: ${RATINGS}
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
`;
  const STRICT = `apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec:
  mtls: {mode: STRICT}
`;

  it('gives a cluster whose DestinationRule says ISTIO_MUTUAL an UpstreamTlsContext naming the `default` provider; others stay plaintext', async () => {
    const { registry, config } = await mesh(ISTIO_MUTUAL);
    const r = translateForProxy({ ...grpcClient, labels: { 'security.istio.io/tlsMode': 'istio' } }, config, registry);
    const ratings = named(r.clusters, `outbound|9080||${RATINGS}`);
    expect(ratings.transport_socket.typed_config).toMatchObject({
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      common_tls_context: {
        tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' },
        validation_context: { ca_certificate_provider_instance: { instance_name: 'default', certificate_name: 'ROOTCA' } },
      },
      sni: `outbound_.9080_._.${RATINGS}`,
    });
    // No SDS anywhere (gRPC has none), even for a node labelled with a mesh identity (auto mTLS is for sidecars).
    expect(JSON.stringify(r.clusters)).not.toContain('sds');
    expect(named(r.clusters, `outbound|9080||${REVIEWS}`).transport_socket).toBeUndefined();
    // The whole snapshot still encodes against the xDS protos.
    const snapshot = new Snapshot({ [TYPE_URL.CLUSTER]: { version: '1', resources: r.clusters } });
    expect(() => snapshot.encode()).not.toThrow();
  });

  it('gives a proxyless server its inbound Listener by Istio\'s name template, mTLS-only when STRICT', async () => {
    const server: ProxyIdentity = { ...grpcClient, id: 'echo-1', address: '127.0.0.1', appPort: 7070 };
    const plain = await mesh();
    const open = named(translateForProxy(server, plain.config, plain.registry).listeners, 'xds.istio.io/grpc/lds/inbound/127.0.0.1:7070');
    expect(open.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 7070 } });
    expect(open.filter_chains[0].transport_socket).toBeUndefined();
    expect(open.filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0]).toEqual({ match: { prefix: '/' }, non_forwarding_action: {} });
    const strict = await mesh(STRICT);
    const listeners = translateForProxy(server, strict.config, strict.registry).listeners;
    const secured = named(listeners, 'xds.istio.io/grpc/lds/inbound/127.0.0.1:7070');
    expect(secured.filter_chains[0].transport_socket.typed_config).toMatchObject({
      common_tls_context: { tls_certificate_provider_instance: { instance_name: 'default', certificate_name: 'default' } },
      require_client_certificate: { value: true },
    });
    expect(named(listeners, 'xds.istio.io/grpc/lds/inbound/0.0.0.0:7070')).toBeDefined();
    const snapshot = new Snapshot({ [TYPE_URL.LISTENER]: { version: '1', resources: listeners } });
    expect(() => snapshot.encode()).not.toThrow();
  });
});
