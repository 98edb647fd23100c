import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResourceDir, parseResources } from '../../../control/config/parse-resources.js';
import type { IstioResource } from '../../../control/config/istio-types.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { clustersOfHosts } from '../../../control/translate/cluster-name.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import {
  outboundClusterNamesForProxy, translateEndpoints, translateForProxy, type EnvoyResources,
} from '../../../control/translate/translate-for-proxy.js';
import { FakeClock } from '../registry/fake-clock.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';
const DEFAULT_RETRY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: { value: 2 },
  retry_host_predicate: [{
    name: 'envoy.retry_host_predicates.previous_hosts',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' },
  }],
  host_selection_retry_max_attempts: 5,
};

const productpage: ProxyIdentity = {
  id: 'productpage-1', namespace: 'default', service: 'productpage', labels: { app: 'productpage', version: 'v1' },
};

async function mesh(extra = '', clock = new FakeClock()) {
  const resources: IstioResource[] = [...await loadResourceDir(MESH), ...(extra ? parseResources(extra, 'extra.yaml') : [])];
  const registry = new ServiceRegistry({ clock });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  return { registry, config: createMeshConfig(resources), clock };
}

type Json = any;
const named = (list: object[], name: string): Json => list.find((r) => (r as Json).name === name || (r as Json).cluster_name === name);
const vhost = (out: EnvoyResources, name: string): Json => (out.routes[0] as Json).virtual_hosts.find((v: Json) => v.name === name);
const addresses = (cla: Json): string[] => cla.endpoints.flatMap((g: Json) => g.lb_endpoints.map((e: Json) =>
  `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`));

describe('translateForProxy on examples/mesh', () => {
  it('gives a productpage proxy Istio-named clusters for every service port and subset', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(productpage, config, registry);
    // Sorted by name ('|' sorts after letters).
    expect(out.clusters.map((c: Json) => c.name)).toEqual([
      `outbound|9080|v1|${REVIEWS}`, `outbound|9080|v2|${REVIEWS}`, `outbound|9080|v3|${REVIEWS}`,
      `outbound|9080||${RATINGS}`, `outbound|9080||${REVIEWS}`,
    ]);
    const v1: Json = named(out.clusters, `outbound|9080|v1|${REVIEWS}`);
    expect(v1).toMatchObject({
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: `outbound|9080|v1|${REVIEWS}` },
      lb_policy: 'LEAST_REQUEST',
      connect_timeout: { seconds: 0, nanos: 250_000_000 },
      outlier_detection: {
        consecutive_5xx: { value: 5 }, interval: { seconds: 10, nanos: 0 }, base_ejection_time: { seconds: 30, nanos: 0 },
        max_ejection_percent: { value: 50 },
      },
    });
    expect(v1.circuit_breakers.thresholds[0]).toMatchObject({ max_connections: { value: 100 }, max_pending_requests: { value: 1024 }, max_retries: { value: 3 } });
    // The v3 subset's consistent hash overrides the rule's LEAST_REQUEST, and only for v3.
    expect(named(out.clusters, `outbound|9080|v3|${REVIEWS}`)).toMatchObject({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 1024 } } });
    expect(named(out.clusters, `outbound|9080||${RATINGS}`)).toMatchObject({ lb_policy: 'LEAST_REQUEST', connect_timeout: { seconds: 10, nanos: 0 } });
  });

  it('routes jason to v3 by header and everyone else 90/10 to v1/v2', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(productpage, config, registry);
    expect(out.routes.map((r: Json) => r.name)).toEqual(['outbound']);
    const reviews = vhost(out, `${REVIEWS}:9080`);
    expect(reviews.domains).toEqual([
      'reviews', 'reviews.default', 'reviews.default.svc', REVIEWS,
      'reviews.default.svc.cluster.local:9080', 'reviews.default.svc:9080', 'reviews.default:9080', 'reviews:9080',
    ].sort());
    const [jason, split] = reviews.routes;
    expect(jason.name).toBe('jason');
    expect(jason.match).toEqual({ prefix: '/', headers: [{ name: 'end-user', string_match: { exact: 'jason' } }] });
    expect(jason.route.cluster).toBe(`outbound|9080|v3|${REVIEWS}`);
    expect(jason.route.hash_policy).toEqual([{ header: { header_name: 'x-user' } }]);
    expect(split.match).toEqual({ prefix: '/' });
    expect(split.route.weighted_clusters.clusters).toEqual([
      { name: `outbound|9080|v1|${REVIEWS}`, weight: { value: 90 } },
      { name: `outbound|9080|v2|${REVIEWS}`, weight: { value: 10 } },
    ]);
    expect(split.route.timeout).toEqual({ seconds: 5, nanos: 0 });
    // The VirtualService's retries replace the mesh default's conditions (no 'cancelled', its own per-try timeout);
    // retries still prefer hosts not yet tried, as Istio's ConvertPolicy keeps the default's host predicate.
    expect(split.route.retry_policy).toEqual({
      ...DEFAULT_RETRY,
      retry_on: 'connect-failure,refused-stream,unavailable', num_retries: { value: 2 }, per_try_timeout: { seconds: 2, nanos: 0 },
    });
    // Without retries in the rule, the mesh default applies.
    expect(jason.route.retry_policy).toEqual(DEFAULT_RETRY);
  });

  it('gives a service without a VirtualService a default route with the mesh retry policy', async () => {
    const { registry, config } = await mesh();
    const ratings = vhost(translateForProxy(productpage, config, registry), `${RATINGS}:9080`);
    expect(ratings.routes).toEqual([{
      name: 'default', match: { prefix: '/' },
      route: { cluster: `outbound|9080||${RATINGS}`, timeout: { seconds: 0, nanos: 0 }, retry_policy: DEFAULT_RETRY },
    }]);
  });

  it('sends each subset cluster only the endpoints whose labels match', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(productpage, config, registry);
    expect(out.endpoints.map((e: Json) => e.cluster_name)).toEqual(out.clusters.map((c: Json) => c.name));
    expect(addresses(named(out.endpoints, `outbound|9080||${REVIEWS}`))).toEqual(['127.0.0.1:9081', '127.0.0.1:9082', '127.0.0.1:9083']);
    expect(addresses(named(out.endpoints, `outbound|9080|v1|${REVIEWS}`))).toEqual(['127.0.0.1:9081']);
    expect(addresses(named(out.endpoints, `outbound|9080|v2|${REVIEWS}`))).toEqual(['127.0.0.1:9082']);
    expect(addresses(named(out.endpoints, `outbound|9080|v3|${REVIEWS}`))).toEqual(['127.0.0.1:9083']);
    expect(addresses(named(out.endpoints, `outbound|9080||${RATINGS}`))).toEqual(['127.0.0.1:9091']);
    expect(named(out.endpoints, `outbound|9080||${RATINGS}`).endpoints[0].lb_endpoints[0].load_balancing_weight).toEqual({ value: 1 });
  });

  it('has an outbound listener on 127.0.0.1:15001 taking the outbound routes over ADS', async () => {
    const { registry, config } = await mesh();
    const out = translateForProxy(productpage, config, registry);
    expect(out.listeners.map((l: Json) => l.name)).toEqual(['outbound']); // productpage has no service, so no inbound
    const listener: Json = out.listeners[0];
    expect(listener.address).toEqual({ socket_address: { address: '127.0.0.1', port_value: 15001 } });
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    expect(hcm['@type']).toBe('type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager');
    expect(hcm.rds).toEqual({ route_config_name: 'outbound', config_source: { ads: {}, resource_api_version: 'V3' } });
    expect(hcm.http_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.http.router']);
  });

  it('gives a proxy with a service an inbound listener to a STATIC cluster at its app port', async () => {
    const { registry, config } = await mesh();
    const proxy: ProxyIdentity = { id: 'r1', namespace: 'default', service: 'reviews', labels: { app: 'reviews', version: 'v1' }, appPort: 9081, inboundPort: 25006 };
    const out = translateForProxy(proxy, config, registry);
    expect(out.listeners.map((l: Json) => l.name)).toEqual(['inbound', 'outbound']);
    const inbound: Json = named(out.listeners, 'inbound');
    expect(inbound.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 25006 });
    const routeConfig = inbound.filter_chains[0].filters[0].typed_config.route_config;
    expect(routeConfig.virtual_hosts[0]).toMatchObject({ domains: ['*'], routes: [{ route: { cluster: 'inbound|9080||' } }] });
    expect(named(out.clusters, 'inbound|9080||')).toMatchObject({
      type: 'STATIC',
      load_assignment: { cluster_name: 'inbound|9080||', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9081 } } } }] }] },
    });
  });

  it('gives every listener a request_headers_timeout, so a client trickling its head cannot hold a connection', async () => {
    const { registry, config } = await mesh();
    const proxy: ProxyIdentity = { id: 'r1', namespace: 'default', service: 'reviews', labels: { app: 'reviews', version: 'v1' }, appPort: 9081, inboundPort: 25006 };
    const out = translateForProxy(proxy, config, registry);
    for (const name of ['inbound', 'outbound']) {
      const hcm = named(out.listeners, name).filter_chains[0].filters[0].typed_config;
      expect(hcm.request_headers_timeout, name).toEqual({ seconds: 10, nanos: 0 });
    }
  });

  it('is deterministic: the same input gives the same output', async () => {
    const a = await mesh();
    const b = await mesh();
    expect(JSON.stringify(translateForProxy(productpage, a.config, a.registry))).toBe(JSON.stringify(translateForProxy(productpage, b.config, b.registry)));
  });
});

describe('translation and the registry', () => {
  it('adds an auto-registered workload to EDS and drops it after the grace period; only the affected clusters change', async () => {
    const { registry, config, clock } = await mesh();
    const before = translateForProxy(productpage, config, registry);
    const change = registry.register({ id: 'ratings-2', service: 'ratings', namespace: 'default', version: 'v2', address: '127.0.0.1', appPort: 9092 });
    expect(change).toEqual({ services: [], endpoints: [RATINGS] });
    // What an EDS-only push sends this proxy: the clusters it uses of the changed hosts.
    const used = outboundClusterNamesForProxy(productpage, config, registry);
    const affected = clustersOfHosts(used, change.endpoints);
    expect(affected).toEqual([`outbound|9080||${RATINGS}`]);
    const [cla] = translateEndpoints(productpage, affected, config, registry) as Json[];
    expect(addresses(cla)).toEqual(['127.0.0.1:9091', '127.0.0.1:9092']);
    const after = translateForProxy(productpage, config, registry);
    expect(after.clusters).toEqual(before.clusters);
    expect(after.routes).toEqual(before.routes);
    registry.unregister('ratings-2');
    clock.advance(10_000);
    expect(translateForProxy(productpage, config, registry)).toEqual(before);
  });

  it('keeps services outside the Sidecar egress scope out of the proxy config', async () => {
    const payments = `
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: payments, namespace: billing}
spec:
  hosts: [payments]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8080, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1, ports: {http: 9501}}]
---
apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: ratings-only, namespace: default}
spec:
  workloadSelector: {labels: {app: ratings}}
  egress: [{hosts: [billing/*, ./ratings.default.svc.cluster.local]}]
`;
    const { registry, config } = await mesh(payments);
    const hostsOf = (out: EnvoyResources) => [...new Set(out.clusters.map((c: Json) => c.name.split('|')[3]))].sort();
    // default namespace's Sidecar (./*): no billing services.
    expect(hostsOf(translateForProxy(productpage, config, registry))).toEqual([RATINGS, REVIEWS]);
    // A Sidecar selecting the proxy's labels wins over the namespace default.
    const ratingsProxy: ProxyIdentity = { id: 'ra', namespace: 'default', labels: { app: 'ratings' } };
    const scoped = translateForProxy(ratingsProxy, config, registry);
    expect(hostsOf(scoped)).toEqual(['payments.billing.svc.cluster.local', RATINGS]);
    expect((scoped.routes[0] as Json).virtual_hosts.map((v: Json) => v.name)).toEqual(['payments.billing.svc.cluster.local:8080', `${RATINGS}:9080`]);
    // No Sidecar in its namespace: everything.
    const other: ProxyIdentity = { id: 'o', namespace: 'billing', labels: {} };
    expect(hostsOf(translateForProxy(other, config, registry))).toEqual(['payments.billing.svc.cluster.local', RATINGS, REVIEWS]);
    // Short names only from the proxy's own namespace.
    const paymentsHost = vhost(translateForProxy(other, config, registry), 'payments.billing.svc.cluster.local:8080');
    expect(paymentsHost.domains).toContain('payments');
    expect(vhost(translateForProxy(other, config, registry), `${REVIEWS}:9080`).domains).not.toContain('reviews');
  });

  it('is consistent: every cluster a route names exists and has endpoints; multi-port services get a host per port', async () => {
    const extra = `
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: api}
spec:
  hosts: [api.example.com]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 8080, name: admin, protocol: HTTP}, {number: 5432, name: db, protocol: TCP}]
  endpoints: [{address: 127.0.0.1, ports: {http: 9601, admin: 9602, db: 9603}}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: api}
spec:
  hosts: ["*.example.com"]
  http:
  - match: [{uri: {prefix: /legacy}}]
    route: [{destination: {host: legacy.example.net}}]
  - route: [{destination: {host: api.example.com}}]
`;
    const { registry, config } = await mesh(extra);
    const proxy: ProxyIdentity = { id: 'p', namespace: 'default', labels: {} };
    // The default Sidecar (./*) covers api.example.com: its ServiceEntry is in namespace default.
    const out = translateForProxy(proxy, config, registry);
    const clusterNames = new Set(out.clusters.map((c: Json) => c.name));
    const named: string[] = [];
    for (const v of (out.routes[0] as Json).virtual_hosts) {
      for (const r of v.routes) {
        if (r.route?.cluster) named.push(r.route.cluster);
        for (const w of r.route?.weighted_clusters?.clusters ?? []) named.push(w.name);
      }
    }
    for (const name of named) expect(clusterNames.has(name), name).toBe(true);
    expect(out.endpoints.map((e: Json) => e.cluster_name)).toEqual(out.clusters.filter((c: Json) => c.type === 'EDS').map((c: Json) => c.name));
    // A destination nobody registered: its cluster exists with no endpoints (503, not a rejected config).
    expect(addresses(out.endpoints.find((e: Json) => e.cluster_name === 'outbound|80||legacy.example.net') as Json)).toEqual([]);
    // The wildcard VirtualService covers both HTTP ports, each port routes to its own cluster; TCP gets a cluster, no host.
    expect(vhost(out, 'api.example.com:80').routes[1].route.cluster).toBe('outbound|80||api.example.com');
    expect(vhost(out, 'api.example.com:8080').routes[1].route.cluster).toBe('outbound|8080||api.example.com');
    expect(vhost(out, 'api.example.com:80').domains).toEqual(['api.example.com', 'api.example.com:80']);
    expect(vhost(out, 'api.example.com:8080').domains).toEqual(['api.example.com:8080']);
    expect(vhost(out, 'api.example.com:5432')).toBeUndefined();
    expect(addresses(out.endpoints.find((e: Json) => e.cluster_name === 'outbound|5432||api.example.com') as Json)).toEqual(['127.0.0.1:9603']);
  });
});

describe('translateForProxy: ServiceEntry resolution DNS and DNS_ROUND_ROBIN', () => {
  const ENTRIES = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: api}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: db}
spec:
  hosts: [db.example.internal]
  resolution: DNS_ROUND_ROBIN
  ports: [{number: 5432, name: tcp, protocol: TCP}]
  endpoints: [{address: primary.db.example.internal, ports: {tcp: 6432}, labels: {role: primary}}]
`;

  it('gives STRICT_DNS (the host itself without endpoints) and LOGICAL_DNS clusters with the load assignment inline, and no EDS resource', async () => {
    const { registry, config } = await mesh(ENTRIES);
    const out = translateForProxy(productpage, config, registry);
    const api: Json = named(out.clusters, 'outbound|443||api.example.com');
    expect(api).toMatchObject({ type: 'STRICT_DNS', dns_lookup_family: 'V4_ONLY', respect_dns_ttl: true });
    expect(api.eds_cluster_config).toBeUndefined();
    expect(addresses(api.load_assignment)).toEqual(['api.example.com:443']);
    const db: Json = named(out.clusters, 'outbound|5432||db.example.internal');
    expect(db.type).toBe('LOGICAL_DNS');
    expect(addresses(db.load_assignment)).toEqual(['primary.db.example.internal:6432']);
    expect(named(out.endpoints, 'outbound|443||api.example.com')).toBeUndefined();
    expect(translateEndpoints(productpage, ['outbound|443||api.example.com'], config, registry)).toEqual([]);
  });
});
