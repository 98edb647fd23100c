// The proxy's /config_dump read as a tool reads Envoy's: an
// envoy.admin.v3.ConfigDump whose every entry, field and `@type` Envoy's own
// protos accept, with the bootstrap file's resources as static entries and
// the control plane's as dynamic ones (their versions), and ?resource=,
// ?mask=, ?name_regex=, ?include_eds meaning what they mean to Envoy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../control/xds/ads-server.js';
import { SnapshotCache } from '../../control/xds/snapshot-cache.js';
import { Snapshot } from '../../control/xds/snapshot.js';
import { createLogger } from '../../src/log.js';
import { TYPE_URL } from '../../src/xds/xds-protos.js';
import { cluster, endpoints, listener } from '../control/xds/xds-fixtures.js';
import { loadEnvoyProtos, proto3JsonProblems } from '../support/envoy-proto-json.js';
import { admin, bootstrapWith, startProxy, waitFor, type RunningProxy } from './harness.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';
let ads: AdsServer;
let proxy: RunningProxy;

const root = loadEnvoyProtos([
  'envoy/admin/v3/config_dump.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
]);

beforeAll(async () => {
  const cache = new SnapshotCache();
  const snapshot = new Snapshot({
    [TYPE_URL.CLUSTER]: { version: 'c1', resources: [cluster('reviews')] },
    [TYPE_URL.ENDPOINT]: { version: 'e1', resources: [endpoints('reviews', [9])] },
    [TYPE_URL.LISTENER]: { version: 'l1', resources: [listener('xds-outbound', 0, 'r1')] },
    [TYPE_URL.ROUTE]: {
      version: 'r7',
      resources: [{ name: 'r1', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'reviews' } }] }] }],
    },
  });
  ads = createAdsServer(cache, { onStreamOpen: (node) => cache.setSnapshot(node.id, snapshot) }, { logger: createLogger('dump-e2e', 'silent') });
  const adsPort = await ads.listen('127.0.0.1', 0);
  const file = bootstrapWith(
    { virtual_hosts: [{ name: 'local', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'static-backend', timeout: '3s' } }] }] },
    [{ name: 'static-backend', ports: [9], connect_timeout: '0.25s' }],
  );
  // State of the world: each resource's version_info is its response's version, as the snapshot names it.
  proxy = await startProxy({ bootstrap: file, args: ['--control', `127.0.0.1:${adsPort}`, '--service', 'reviews', '--xds-protocol', 'sotw'] });
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await ads?.close();
});

async function dump(query = ''): Promise<{ status: number; body: Json }> {
  const r = await admin(proxy, `/config_dump${query}`);
  return { status: r.status, body: r.status === 200 ? (JSON.parse(r.body) as Json) : { text: r.body } };
}

describe('/config_dump', () => {
  it('is an envoy.admin.v3.ConfigDump that Envoy\'s protos read, field by field', async () => {
    const { body } = await dump('?include_eds');
    expect(body.configs.map((c: Json) => c['@type'])).toEqual([
      `${ADMIN}BootstrapConfigDump`, `${ADMIN}ClustersConfigDump`, `${ADMIN}EndpointsConfigDump`, `${ADMIN}ListenersConfigDump`, `${ADMIN}RoutesConfigDump`,
    ]);
    expect(proto3JsonProblems(root, 'envoy.admin.v3.ConfigDump', body)).toEqual([]);
    // The walker does reject what is not Envoy's: a misnamed field, an unknown @type.
    expect(proto3JsonProblems(root, 'envoy.admin.v3.ConfigDump', { configs: [{ '@type': `${ADMIN}ClustersConfigDump`, static_cluster: [] }] })).toHaveLength(1);
    expect(proto3JsonProblems(root, 'envoy.admin.v3.ConfigDump', { configs: [{ '@type': `${ADMIN}Nope` }] })).toHaveLength(1);
  });

  it('has the file\'s resources as static entries and the control plane\'s as dynamic ones with their versions', async () => {
    const { body } = await dump('?include_eds');
    const [boot, clusters, eps, listeners, routes] = body.configs as Json[];
    expect(boot!.bootstrap.static_resources.clusters[0].name).toBe('static-backend');
    expect(boot!.bootstrap.node.id).toMatch(/^sidecar~127\.0\.0\.1~reviews/);
    expect(boot!.bootstrap.dynamic_resources.ads_config).toMatchObject({ api_type: 'GRPC', grpc_services: [{ google_grpc: { target_uri: expect.stringMatching(/^127\.0\.0\.1:\d+$/) } }] });
    expect(clusters!.static_clusters.map((c: Json) => c.cluster.name)).toEqual(['static-backend']);
    expect(clusters!.static_clusters[0].cluster.connect_timeout).toBe('0.25s');
    expect(clusters!.version_info).toBe('c1');
    expect(clusters!.dynamic_active_clusters.map((c: Json) => [c.cluster.name, c.version_info])).toEqual([['reviews', 'c1']]);
    expect(clusters!.dynamic_active_clusters[0].last_updated).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(eps!.static_endpoint_configs[0].endpoint_config.cluster_name).toBe('static-backend');
    expect(eps!.dynamic_endpoint_configs[0].endpoint_config.cluster_name).toBe('reviews');
    expect(listeners!.static_listeners[0].listener).toMatchObject({ '@type': TYPE_URL.LISTENER, name: 'outbound' });
    expect(listeners!.dynamic_listeners[0]).toMatchObject({ name: 'xds-outbound', active_state: { version_info: 'l1', listener: { name: 'xds-outbound' } } });
    expect(routes!.static_route_configs[0].route_config).toMatchObject({ '@type': TYPE_URL.ROUTE, name: 'local' });
    expect(routes!.dynamic_route_configs[0]).toMatchObject({ version_info: 'r7', route_config: { name: 'r1' } });
    // Without ?include_eds, as Envoy: no endpoints dump.
    expect((await dump()).body.configs.map((c: Json) => c['@type'])).not.toContain(`${ADMIN}EndpointsConfigDump`);
  });

  it('selects with ?resource=, ?mask= and ?name_regex= as Envoy does', async () => {
    const byResource = (await dump('?resource=dynamic_active_clusters')).body;
    expect(byResource.configs).toHaveLength(1);
    expect(byResource.configs[0]).toMatchObject({ '@type': `${ADMIN}ClustersConfigDump.DynamicCluster`, version_info: 'c1', cluster: { name: 'reviews' } });
    expect(proto3JsonProblems(root, 'envoy.admin.v3.ConfigDump', byResource)).toEqual([]);

    const masked = (await dump('?resource=static_clusters&mask=cluster.name')).body;
    expect(masked.configs).toEqual([{ '@type': `${ADMIN}ClustersConfigDump.StaticCluster`, cluster: { '@type': TYPE_URL.CLUSTER, name: 'static-backend' } }]);

    const topMasked = (await dump('?mask=static_listeners')).body;
    const withListeners = topMasked.configs.filter((c: Json) => c.static_listeners !== undefined);
    expect(withListeners).toHaveLength(1);
    expect(Object.keys(topMasked.configs.find((c: Json) => c['@type'] === `${ADMIN}ClustersConfigDump`))).toEqual(['@type']);

    const named = (await dump('?resource=dynamic_listeners&name_regex=xds-.*')).body;
    expect(named.configs.map((c: Json) => c.name)).toEqual(['xds-outbound']);
    expect((await dump('?resource=static_listeners&name_regex=nothing')).body.configs).toEqual([]);

    const unknown = await dump('?resource=listeners');
    expect(unknown.status).toBe(404);
    expect(unknown.body.text).toContain('static_listeners');
  });

  it('keeps the agent\'s own model at /debug/config_dump', async () => {
    const model = await waitFor('the debug dump', async () => JSON.parse((await admin(proxy, '/debug/config_dump')).body) as Json);
    expect(model.version).toBeGreaterThanOrEqual(1);
    expect(model.xds).toMatchObject({ synced: true });
  });
});
