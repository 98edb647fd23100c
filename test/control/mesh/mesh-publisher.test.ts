// MeshPublisher with its real neighbours: a ConfigStore (LMDB in a temp dir)
// holding examples/mesh, the ServiceRegistry, a SnapshotCache behind a real
// ADS server on 127.0.0.1, and grpc clients that behave like sidecars.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { xdsAdminRoutes } from '../../../control/admin/xds-admin-routes.js';
import { MeshPublisher } from '../../../control/mesh/mesh-publisher.js';
import { buildSyncz, type Syncz } from '../../../control/mesh/sync-status.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { ConfigStore } from '../../../control/store/config-store.js';
import { createAdsServer, type AdsServer } from '../../../control/xds/ads-server.js';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import type { Snapshot } from '../../../control/xds/snapshot.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { decodeAny, deltaClient, type DeltaDiscoveryResponse } from '../xds/ads-test-client.js';
import { startAdminHttp, type AdminHttpServer } from '../../../src/admin/admin-http.js';
import { createLogger } from '../../../src/log.js';
import { eventually, MeshTestClient, type Workload } from './mesh-test-client.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const REVIEWS = 'reviews.default.svc.cluster.local';
const V2 = `outbound|9080|v2|${REVIEWS}`;
const GRACE_MS = 200;
const log = createLogger('mesh-test', 'silent');

const meshYaml = (): string => readdirSync(MESH).filter((f) => f.endsWith('.yaml')).sort()
  .map((f) => readFileSync(join(MESH, f), 'utf8')).join('\n---\n');

const allToV2 = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v2}
`;

const PRODUCTPAGE: Workload = { service: 'productpage', namespace: 'default', labels: { version: 'v1' }, ip: '127.0.0.1', appPort: 9080 };
const REVIEWS_V2: Workload = { service: 'reviews', namespace: 'default', labels: { version: 'v2' }, ip: '127.0.0.2', appPort: 9182 };

let dir: string;
let store: ConfigStore;
let registry: ServiceRegistry;
let cache: FaultyCache;
let publisher: MeshPublisher;
let ads: AdsServer;
let port: number;
let admin: AdminHttpServer | null = null;
const clients: { close(): void }[] = [];

/** The real cache, with a fault switch: setSnapshot throws for the listed nodes (a broken push to one proxy). */
class FaultyCache extends SnapshotCache {
  readonly failFor = new Set<string>();
  override setSnapshot(nodeId: string, snapshot: Snapshot): void {
    if (this.failFor.has(nodeId)) throw new Error(`injected failure for ${nodeId}`);
    super.setSnapshot(nodeId, snapshot);
  }
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-'));
  store = ConfigStore.open(join(dir, 'data'));
  const applied = await store.apply(meshYaml());
  expect(applied.rejected).toBe(false);
  registry = new ServiceRegistry({ gracePeriodMs: GRACE_MS });
  cache = new FaultyCache();
  publisher = new MeshPublisher({ config: store, registry, cache, log, debounce: { quietMs: 20, maxDelayMs: 200 } });
  ads = createAdsServer(cache, publisher.callbacks, { logger: log });
  port = await ads.listen('127.0.0.1', 0);
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  admin?.close();
  admin = null;
  publisher.close();
  await ads.close();
  registry.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function connect(id: string, workload: Workload): MeshTestClient {
  const client = new MeshTestClient(port, id, workload);
  clients.push(client);
  return client;
}

async function synced(client: MeshTestClient): Promise<void> {
  await eventually(`${client.id} to receive cds, eds, lds and rds`, () => ['cds', 'eds', 'lds', 'rds'].every((t) => client.version(t as 'cds') !== undefined));
}

describe('MeshPublisher', () => {
  it('gives a connecting productpage proxy the example mesh at once, and pushes a VirtualService change as new routes only', async () => {
    const pp = connect('productpage-1', PRODUCTPAGE);
    await synced(pp);
    expect(pp.resources('cds').map((c) => c.name)).toEqual(expect.arrayContaining([
      `outbound|9080|v1|${REVIEWS}`, V2, `outbound|9080|v3|${REVIEWS}`, `outbound|9080||${REVIEWS}`,
      'outbound|9080||ratings.default.svc.cluster.local',
    ]));
    const vhost = pp.resources('rds')[0]!.virtual_hosts.find((v: { name: string }) => v.name === `${REVIEWS}:9080`);
    expect(vhost.routes.map((r: { name: string }) => r.name)).toEqual(['jason', 'split']);
    expect(pp.endpointsOf(`outbound|9080|v1|${REVIEWS}`)).toEqual(['127.0.0.1:9081']);
    expect(publisher.node('productpage-1')).toMatchObject({ registered: true, proxy: { service: 'productpage', namespace: 'default' } });

    // Let the push for productpage's own registration settle, then change the routes.
    publisher.flush();
    await new Promise((r) => setTimeout(r, 100));
    const before = { cds: pp.version('cds'), eds: pp.version('eds'), lds: pp.version('lds'), rds: pp.version('rds'), sent: pp.log.length };
    const convergedBefore = publisher.metrics.convergence.count;
    const changedAt = performance.now();
    expect((await store.apply(allToV2)).rejected).toBe(false);
    await eventually('the new routes', () => pp.version('rds') !== before.rds);
    const routes = pp.resources('rds')[0]!.virtual_hosts.find((v: { name: string }) => v.name === `${REVIEWS}:9080`).routes;
    expect(routes).toHaveLength(1);
    expect(routes[0].route.cluster).toBe(V2);
    // Only RDS changed: the other types kept their versions and were not sent again.
    expect(pp.log.slice(before.sent).map((e) => e.type)).toEqual(['rds']);
    expect([pp.version('cds'), pp.version('eds'), pp.version('lds')]).toEqual([before.cds, before.eds, before.lds]);
    await eventually('the convergence sample', () => publisher.metrics.convergence.count > convergedBefore);
    const seconds = publisher.metrics.convergence.sum;
    console.log(`convergence (apply -> RDS ACK): ${(performance.now() - changedAt).toFixed(1)} ms wall, histogram sum ${(seconds * 1000).toFixed(1)} ms over ${publisher.metrics.convergence.count} samples`);
    expect(publisher.metrics.render()).toMatch(/isthmus_xds_pushes_total\{type="rds"\} [1-9]/);
  });

  it('makes an announced reviews v2 workload an endpoint in other proxies\' EDS (EDS only), and drops it after the grace period', async () => {
    const pp = connect('productpage-1', PRODUCTPAGE);
    await synced(pp);
    publisher.flush();
    await new Promise((r) => setTimeout(r, 100));
    const sent = pp.log.length;
    const versions = [pp.version('cds'), pp.version('lds'), pp.version('rds')];

    const reviews = connect('reviews-v2-1', REVIEWS_V2);
    await synced(reviews);
    await eventually('reviews v2 in productpage EDS', () => pp.endpointsOf(V2).includes('127.0.0.2:9182'));
    expect(pp.endpointsOf(V2)).toEqual(['127.0.0.1:9082', '127.0.0.2:9182']);
    expect(pp.endpointsOf(`outbound|9080|v1|${REVIEWS}`)).toEqual(['127.0.0.1:9081']);
    // An endpoint-only change: EDS alone is pushed, the other versions are untouched.
    expect(pp.log.slice(sent).map((e) => e.type)).toEqual(['eds']);
    expect([pp.version('cds'), pp.version('lds'), pp.version('rds')]).toEqual(versions);

    const closedAt = performance.now();
    reviews.close();
    await eventually('productpage to learn that reviews v2 left', () => publisher.node('reviews-v2-1') === undefined);
    await new Promise((r) => setTimeout(r, GRACE_MS / 2));
    expect(pp.endpointsOf(V2)).toContain('127.0.0.2:9182'); // still within the grace period
    await eventually('reviews v2 gone from productpage EDS', () => !pp.endpointsOf(V2).includes('127.0.0.2:9182'), GRACE_MS + 1000);
    const goneAfter = performance.now() - closedAt;
    console.log(`endpoint removal after stream close: ${goneAfter.toFixed(0)} ms (grace ${GRACE_MS} ms + debounce)`);
    expect(goneAfter).toBeGreaterThanOrEqual(GRACE_MS);
    expect(pp.endpointsOf(V2)).toEqual(['127.0.0.1:9082']);
    expect(pp.log.slice(sent).map((e) => e.type)).toEqual(['eds', 'eds']);
  });

  it('shows a NACK as NACKED with its message in /debug/syncz and counts it', async () => {
    admin = await startAdminHttp(xdsAdminRoutes({ ads, cache, publisher }), { address: '127.0.0.1', port: 0, log });
    const pp = connect('productpage-1', PRODUCTPAGE);
    await synced(pp);
    publisher.flush();
    await new Promise((r) => setTimeout(r, 100));
    const syncz = async (): Promise<Syncz> => (await (await fetch(`http://127.0.0.1:${admin!.port}/debug/syncz`)).json()) as Syncz;
    let z = await syncz();
    expect(z.proxies).toHaveLength(1);
    expect(z.proxies[0]).toMatchObject({ node: 'productpage-1', service: 'productpage', namespace: 'default', protocol: 'sotw', registered: true });
    expect(Object.values(z.proxies[0]!.types).map((t) => t.state)).toEqual(['SYNCED', 'SYNCED', 'SYNCED', 'SYNCED']);

    pp.nack('rds', 'route outbound: weights must add up to 100');
    const rdsBefore = pp.version('rds');
    await store.apply(allToV2);
    await eventually('the NACK to reach the control plane', () => publisher.metrics.nacks.get('rds') === 1);
    z = await syncz();
    expect(z.proxies[0]!.types.rds).toMatchObject({ state: 'NACKED', nackMessage: 'route outbound: weights must add up to 100', acked: rdsBefore });
    expect(z.proxies[0]!.types.cds!.state).toBe('SYNCED');
    expect(publisher.metrics.render()).toContain('isthmus_xds_nacks_total{type="rds"} 1');

    const dump = await fetch(`http://127.0.0.1:${admin.port}/debug/config_dump?proxy=productpage-1`);
    expect(dump.status).toBe(200);
    const body = (await dump.json()) as { sections: Record<string, { version: string; sent: string; resources: { name?: string }[] }> };
    expect(body.sections.routes!.resources.map((r) => r.name)).toEqual(['outbound']);
    expect(body.sections.routes!.sent).toBe(body.sections.routes!.version);
    expect((await fetch(`http://127.0.0.1:${admin.port}/debug/config_dump?proxy=nobody`)).status).toBe(404);
  });

  it('serves a proxy whose announcement the registry rejects without making it an endpoint, and keeps serving the others', async () => {
    const pp = connect('productpage-1', PRODUCTPAGE);
    await synced(pp);
    const bad = connect('bad-1', { service: 'Bad_Name!', namespace: 'default', ip: '127.0.0.3', appPort: 9300 });
    await synced(bad);
    expect(publisher.node('bad-1')).toMatchObject({ registered: false });
    expect(publisher.node('bad-1')!.problems.join()).toMatch(/invalid workload announcement: service must be a DNS name/);
    expect(publisher.metrics.rejectedAnnouncements).toBe(1);
    const port = connect('badport-1', { service: 'details', raw: { APP_PORT: 'eighty' }, ip: '127.0.0.4' });
    await synced(port);
    expect(publisher.node('badport-1')!.problems).toEqual(['node metadata APP_PORT must be a port (1-65535), got "eighty"']);
    // The good proxy still follows config changes.
    const rds = pp.version('rds');
    await store.apply(allToV2);
    await eventually('productpage to get the new routes', () => pp.version('rds') !== rds);
  });

  it('keeps pushing to other proxies when the push to one fails, and counts the failure', async () => {
    const a = connect('productpage-1', PRODUCTPAGE);
    const b = connect('productpage-2', { ...PRODUCTPAGE, ip: '127.0.0.9' });
    await synced(a);
    await synced(b);
    publisher.flush();
    await new Promise((r) => setTimeout(r, 100));
    const [rdsA, rdsB] = [a.version('rds'), b.version('rds')];
    cache.failFor.add('productpage-1');
    await store.apply(allToV2);
    await eventually('productpage-2 to get the new routes', () => b.version('rds') !== rdsB);
    expect(publisher.metrics.pushErrors).toBe(1);
    const sentToA = a.log.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(a.log.length).toBe(sentToA);
    expect(a.version('rds')).toBe(rdsA); // keeps its last config
    // The next change reaches it once its pushes work again.
    cache.failFor.clear();
    await store.apply(allToV2.replace('subset: v2', 'subset: v3'));
    await eventually('productpage-1 to catch up', () => a.version('rds') !== rdsA && a.version('rds') === b.version('rds'));
  });

  it('serves a delta (incremental) client the same clusters and lists it as delta in syncz', async () => {
    const pp = connect('productpage-1', PRODUCTPAGE);
    await synced(pp);
    const delta = deltaClient(port);
    clients.push(delta);
    delta.send({ node: { id: 'details-1', cluster: 'test', metadata: { fields: { SERVICE: { stringValue: 'details' } } } }, type_url: TYPE_URL.CLUSTER });
    const response: DeltaDiscoveryResponse = await delta.next();
    expect(response.type_url).toBe(TYPE_URL.CLUSTER);
    const names = (response.resources ?? []).map((r) => String(decodeAny(r.resource).name)).sort();
    expect(names).toEqual(pp.resources('cds').map((c) => String(c.name)).filter((n) => !n.startsWith('inbound')).sort());
    delta.send({ type_url: TYPE_URL.CLUSTER, response_nonce: response.nonce });
    await eventually('the delta ACK', () => ads.status().find((s) => s.node.id === 'details-1')?.types[0]?.ackedVersion === response.system_version_info);
    expect(publisher.node('details-1')).toMatchObject({ registered: false, proxy: { service: 'details' } });
    const entry = buildSyncz(ads.status(), (id) => publisher.node(id)).proxies.find((p) => p.node === 'details-1');
    expect(entry).toMatchObject({ protocol: 'delta', service: 'details', namespace: 'default', types: { cds: { state: 'SYNCED' } } });
  });

  it('shares outbound config between proxies whose labels do not matter, and keeps label-dependent routes apart', async () => {
    const sourceLabelled = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - match:
    - sourceLabels: {canary: "true"}
    route:
    - destination: {host: reviews, subset: v3}
  - route:
    - destination: {host: reviews, subset: v1}
`;
    expect((await store.apply(sourceLabelled)).rejected).toBe(false);
    const plain = connect('pp-plain', { ...PRODUCTPAGE, appPort: 9101, labels: { version: 'v1' } });
    const other = connect('pp-other-version', { ...PRODUCTPAGE, appPort: 9102, labels: { version: 'v2' } });
    const canary = connect('pp-canary', { ...PRODUCTPAGE, appPort: 9103, labels: { version: 'v1', canary: 'true' } });
    for (const c of [plain, other, canary]) await synced(c);
    publisher.flush();
    const reviewsRoutes = (c: MeshTestClient): string[] =>
      c.resources('rds')[0]!.virtual_hosts.find((v: { name: string }) => v.name === `${REVIEWS}:9080`)
        .routes.map((r: { route: { cluster: string } }) => r.route.cluster);
    await eventually('the canary route', () => reviewsRoutes(canary)[0]?.includes('|v3|'));
    expect(reviewsRoutes(plain)).toEqual([`outbound|9080|v1|${REVIEWS}`]);
    expect(reviewsRoutes(other)).toEqual([`outbound|9080|v1|${REVIEWS}`]);
    expect(reviewsRoutes(canary)).toEqual([`outbound|9080|v3|${REVIEWS}`, `outbound|9080|v1|${REVIEWS}`]);
    // A version label no Sidecar or sourceLabels tests does not change the outbound part: same RDS version (a content hash).
    await eventually('equal RDS for labels that do not matter', () => plain.version('rds') === other.version('rds'));
    expect(plain.version('rds')).not.toBe(canary.version('rds'));
    // Each keeps its own inbound listener (its own app port), so CDS/LDS differ.
    expect(plain.version('lds')).not.toBe(other.version('lds'));
  });

  it('gives every proxy an endpoint that registered in the same burst as a new service, also one whose translation was cached in between', async () => {
    // One burst (a long debounce): a proxy of a new service connects (a services change: every cached translation
    // is dropped, and its own is built and cached at once), then a reviews v2 workload registers (endpoint-only:
    // the caches stay, for the EDS push to refresh). The push is a full one (the services change): it used to
    // reuse the productpage scope's cached translation from before reviews v2 existed, so that proxy never got it.
    publisher.close();
    await ads.close();
    publisher = new MeshPublisher({ config: store, registry, cache, log, debounce: { quietMs: 60_000, maxDelayMs: 120_000 } });
    ads = createAdsServer(cache, publisher.callbacks, { logger: log });
    port = await ads.listen('127.0.0.1', 0);

    const pp = connect('productpage-1', PRODUCTPAGE);
    await synced(pp);
    expect(pp.endpointsOf(V2)).toEqual(['127.0.0.1:9082']);
    const reviews = connect('reviews-v2-1', REVIEWS_V2);
    await synced(reviews);
    expect(publisher.node('reviews-v2-1')?.registered).toBe(true);
    publisher.flush(); // the burst's push
    await eventually('reviews v2 in productpage EDS', () => pp.endpointsOf(V2).includes('127.0.0.2:9182'));
    await eventually('reviews v2 in its own EDS', () => reviews.endpointsOf(V2).includes('127.0.0.2:9182'));
    expect(pp.endpointsOf(V2)).toEqual(['127.0.0.1:9082', '127.0.0.2:9182']);
  });

  it('drops the cached translation of a locality or label scope when the last proxy with it disconnects', async () => {
    const entries = (): number => Number(/^isthmus_xds_proxy_cache_entries (\d+)$/m.exec(publisher.metrics.render())?.[1]);
    expect(entries()).toBe(0);
    // Five localities a proxy chose itself (hostile or not): five cached outbound parts, two proxies share one.
    const zones = ['z1', 'z2', 'z3', 'z4', 'z5'];
    const proxies = zones.map((zone, i) => connect(`pp-${zone}`, { ...PRODUCTPAGE, appPort: 9200 + i, locality: { region: 'r', zone } }));
    const twin = connect('pp-z1-twin', { ...PRODUCTPAGE, appPort: 9210, locality: { region: 'r', zone: 'z1' } });
    for (const c of [...proxies, twin]) await synced(c);
    // A registry change clears the caches until its push rebuilds them: wait for the push to settle.
    await eventually('five scopes cached', () => entries() === 5);

    for (const c of proxies.slice(1)) c.close();
    await eventually('the scopes of z2..z5 to be evicted', () => entries() === 1);
    proxies[0]!.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    publisher.flush();
    expect(entries()).toBe(1); // the twin still uses z1's scope
    twin.close();
    await eventually('the last scope to be evicted', () => entries() === 0);
    expect(publisher.nodeList()).toEqual([]);

    // Proxyless gRPC clients: their snapshots are cached by identity (labels, metadata), and go with them too.
    const grpcClients = ['a', 'b'].map((team) =>
      connect(`grpc-${team}`, { namespace: 'default', labels: { team }, raw: { GENERATOR: 'grpc' } }));
    await eventually('proxyless clients to get clusters', () => grpcClients.every((c) => c.version('cds') !== undefined));
    await eventually('two proxyless identities cached', () => entries() >= 2);
    for (const c of grpcClients) c.close();
    await eventually('the proxyless identities to be evicted', () => entries() === 0);
  });
});
