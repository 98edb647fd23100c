import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResourceDir, parseResources } from '../../../control/config/parse-resources.js';
import type { IstioResource } from '../../../control/config/istio-types.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy, type EnvoyResources } from '../../../control/translate/translate-for-proxy.js';
import { encodeResource } from '../../../control/xds/resource-encoder.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { schemaProblems } from './envoy-schema.js';
import { readRouteConfigObject } from '../../../src/config/parse-resource-object.js';
import { ProtoJson } from '../../../src/xds/proto-json.js';
import { loadXdsProtos, messageNameOf } from '../../../src/xds/xds-protos.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const RATINGS = 'ratings.default.svc.cluster.local';
const REVIEWS = 'reviews.default.svc.cluster.local';

// Every VirtualService feature the translation covers, on the example mesh's ratings service.
const RATINGS_VS = `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - name: no-retries
    match: [{uri: {exact: /health}}]
    route: [{destination: {host: ratings}}]
    retries: {attempts: 0}
  - name: codes
    match:
    - {name: get, method: {exact: GET}, uri: {prefix: /api}, queryParams: {debug: {exact: "1"}}}
    - {name: host, authority: {regex: "ratings[.].*"}}
    route: [{destination: {host: ratings}, headers: {request: {set: {x-set: one}, add: {x-add: two}, remove: [x-drop]}}}]
    retries: {attempts: 3, retryOn: "503,connect-failure"}
    rewrite: {uri: /v2, authority: ratings.internal}
    fault:
      delay: {fixedDelay: 1.5s, percentage: {value: 12.5}}
      abort: {httpStatus: 503, percentage: {value: 1}}
    mirror: {host: reviews, subset: v2}
    mirrorPercentage: {value: 25}
    headers: {response: {set: {x-served-by: mesh}}}
    corsPolicy:
      allowOrigins: [{exact: "https://a.example"}, {prefix: "https://b."}]
      allowMethods: [GET, POST]
      allowHeaders: [x-a]
      exposeHeaders: [x-b]
      maxAge: 24h
      allowCredentials: true
  - name: canary-source
    match: [{sourceLabels: {app: canary}}]
    route: [{destination: {host: ratings}}]
  - name: old
    match: [{uri: {prefix: /old}}]
    redirect: {uri: /new, authority: new.example, redirectCode: 308}
  - name: teapot
    match: [{uri: {regex: "/tea.*"}}]
    directResponse: {status: 418, body: {string: short and stout}}
  - name: rest
    route: [{destination: {host: ratings}}]
    timeout: 0s
`;

async function translate(proxy: ProxyIdentity): Promise<EnvoyResources> {
  const resources: IstioResource[] = [...await loadResourceDir(MESH), ...parseResources(RATINGS_VS, 'ratings-vs.yaml')];
  const registry = new ServiceRegistry();
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  return translateForProxy(proxy, createMeshConfig(resources), registry);
}

const productpage: ProxyIdentity = { id: 'pp', namespace: 'default', labels: { app: 'productpage' } };
type Json = any;

function ratingsRoutes(out: EnvoyResources): Json[] {
  return (out.routes[0] as Json).virtual_hosts.find((v: Json) => v.name === `${RATINGS}:9080`).routes;
}

describe('VirtualService http rules as Envoy routes', () => {
  it('writes one route per match, with every action field', async () => {
    const routes = ratingsRoutes(await translate(productpage));
    expect(routes.map((r) => r.name)).toEqual(['no-retries', 'codes.get', 'codes.host', 'old', 'teapot', 'rest']);
    const [noRetries, get, host, old, teapot, rest] = routes;
    expect(noRetries.match).toEqual({ path: '/health' });
    expect(noRetries.route.retry_policy).toBeUndefined();

    expect(get.match).toEqual({
      prefix: '/api',
      headers: [{ name: ':method', string_match: { exact: 'GET' } }],
      query_parameters: [{ name: 'debug', string_match: { exact: '1' } }],
    });
    expect(host.match).toEqual({ prefix: '/', headers: [{ name: ':authority', string_match: { safe_regex: { regex: 'ratings[.].*' } } }] });
    expect(get.route).toMatchObject({
      cluster: `outbound|9080||${RATINGS}`,
      prefix_rewrite: '/v2',
      host_rewrite_literal: 'ratings.internal',
      retry_policy: { retry_on: 'connect-failure,retriable-status-codes', retriable_status_codes: [503], num_retries: { value: 3 } },
      request_mirror_policies: [{
        cluster: `outbound|9080|v2|${REVIEWS}`, runtime_fraction: { default_value: { numerator: 250_000, denominator: 'MILLION' } },
      }],
    });
    expect(get.request_headers_to_add).toEqual([
      { header: { key: 'x-set', value: 'one' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-add', value: 'two' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    expect(get.request_headers_to_remove).toEqual(['x-drop']);
    expect(get.response_headers_to_add).toEqual([{ header: { key: 'x-served-by', value: 'mesh' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }]);
    expect(get.typed_per_filter_config['envoy.filters.http.fault']).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      delay: { fixed_delay: { seconds: 1, nanos: 500_000_000 }, percentage: { numerator: 125_000, denominator: 'MILLION' } },
      abort: { http_status: 503, percentage: { numerator: 10_000, denominator: 'MILLION' } },
    });
    expect(get.typed_per_filter_config['envoy.filters.http.cors']).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
      allow_origin_string_match: [{ exact: 'https://a.example' }, { prefix: 'https://b.' }],
      allow_methods: 'GET,POST', allow_headers: 'x-a', expose_headers: 'x-b', max_age: '86400', allow_credentials: { value: true },
    });

    expect(old).toMatchObject({ match: { prefix: '/old' }, redirect: { path_redirect: '/new', host_redirect: 'new.example', response_code: 'PERMANENT_REDIRECT' } });
    expect(old.route).toBeUndefined();
    expect(teapot).toMatchObject({ match: { safe_regex: { regex: '/tea.*' } }, direct_response: { status: 418, body: { inline_string: 'short and stout' } } });
    expect(rest.route.timeout).toEqual({ seconds: 0, nanos: 0 });
  });

  it('keeps a rule with sourceLabels only for the proxies whose labels match', async () => {
    const canary = ratingsRoutes(await translate({ id: 'c', namespace: 'default', labels: { app: 'canary', version: 'v9' } }));
    expect(canary.map((r) => r.name)).toContain('canary-source');
  });

  it('adds the fault and cors filters before the router when a route uses them', async () => {
    const out = await translate(productpage);
    const hcm = (out.listeners[0] as Json).filter_chains[0].filters[0].typed_config;
    expect(hcm.http_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.http.cors', 'envoy.filters.http.fault', 'envoy.filters.http.router']);
  });

  it('mirrors to a cluster that exists in the proxy config', async () => {
    const out = await translate(productpage);
    expect(out.clusters.map((c: Json) => c.name)).toContain(`outbound|9080|v2|${REVIEWS}`);
  });
});

describe('Istio regexes as Envoy safe_regex', () => {
  it("carries Istio's program size limit (32768) on a regex over Envoy's default of 100, which the proxy then accepts", async () => {
    const vs = `
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: long-regex}
spec:
  hosts: [ratings]
  http:
  - name: long
    match: [{uri: {regex: "/ids/[a-f0-9]{128}"}}]
    route: [{destination: {host: ratings}}]
  - name: short
    match: [{uri: {regex: "/tea.*"}}]
    route: [{destination: {host: ratings}}]
`;
    const resources: IstioResource[] = [...await loadResourceDir(MESH), ...parseResources(vs, 'long-regex.yaml')];
    const registry = new ServiceRegistry();
    const adapter = new IstioConfigAdapter();
    adapter.update(resources);
    adapter.start(registry);
    const out = translateForProxy(productpage, createMeshConfig(resources), registry);
    const [long, short] = ratingsRoutes(out);
    expect(long.match.safe_regex).toEqual({ google_re2: { max_program_size: { value: 32768 } }, regex: '/ids/[a-f0-9]{128}' });
    expect(short.match.safe_regex).toEqual({ regex: '/tea.*' });
    // What the proxy receives (serialized, decoded, wrappers unwrapped) reads without a problem.
    const protos = loadXdsProtos();
    const type = protos.messageType(messageNameOf(TYPE_URL.ROUTE))!;
    const json = new ProtoJson(protos.packageDefinition).resourceToJson({ type_url: TYPE_URL.ROUTE, value: type.serialize(out.routes[0]!) });
    expect(readRouteConfigObject(json, 'RouteConfiguration outbound').problems).toEqual([]);
  });
});

describe('translated resources against the Envoy protos', () => {
  const types: [keyof EnvoyResources, string, string][] = [
    ['clusters', 'envoy.config.cluster.v3.Cluster', TYPE_URL.CLUSTER],
    ['endpoints', 'envoy.config.endpoint.v3.ClusterLoadAssignment', TYPE_URL.ENDPOINT],
    ['listeners', 'envoy.config.listener.v3.Listener', TYPE_URL.LISTENER],
    ['routes', 'envoy.config.route.v3.RouteConfiguration', TYPE_URL.ROUTE],
  ];

  it('uses only proto field names and enum values, including fault and CORS configs', async () => {
    const proxy: ProxyIdentity = { id: 'r', namespace: 'default', service: 'reviews', labels: { app: 'reviews' }, appPort: 9081 };
    const out = await translate(proxy);
    expect(out.listeners).toHaveLength(2);
    for (const [key, message] of types) {
      for (const resource of out[key]) expect(schemaProblems(message, resource)).toEqual([]);
    }
    // The checker itself catches a wrong name.
    expect(schemaProblems('envoy.config.cluster.v3.Cluster', { name: 'x', lb_polcy: 'RANDOM' })).toEqual(['Cluster.lb_polcy: no such field in envoy.config.cluster.v3.Cluster']);
  });

  it('encodes with the xDS server encoder (the example mesh, with its inbound listener)', async () => {
    const resources = await loadResourceDir(MESH);
    const registry = new ServiceRegistry();
    const adapter = new IstioConfigAdapter();
    adapter.update(resources);
    adapter.start(registry);
    const proxy: ProxyIdentity = { id: 'r', namespace: 'default', service: 'reviews', labels: { app: 'reviews' }, appPort: 9081 };
    const out = translateForProxy(proxy, createMeshConfig(resources), registry);
    let count = 0;
    for (const [key, , typeUrl] of types) {
      for (const resource of out[key]) {
        expect(encodeResource(typeUrl, resource).bytes.length).toBeGreaterThan(0);
        count++;
      }
    }
    expect(count).toBe(6 + 5 + 2 + 1);
  });
});
