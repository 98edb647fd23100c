// The sidecar's ADS client against the real control-plane ADS server
// (createAdsServer + SnapshotCache) on 127.0.0.1: config assembled from all
// four types, NACKs with precise messages, SotW and delta converging, and
// reconnecting to a restarted server.
import { afterEach, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../control/xds/ads-server.js';
import { SnapshotCache } from '../../control/xds/snapshot-cache.js';
import { Snapshot, type SnapshotInput } from '../../control/xds/snapshot.js';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { createLogger } from '../../src/log.js';
import { buildNode } from '../../src/xds/xds-node.js';
import { readNodeMetadata } from '../../control/registry/node-metadata.js';
import { TYPE_URL } from '../../src/xds/xds-protos.js';
import { XdsClient, type XdsProtocol } from '../../workers/agent/xds-client.js';
import { cluster, endpoints, listener, meshInput, routeConfig } from '../control/xds/xds-fixtures.js';

const silent = createLogger('xds-client-test', process.env.XDS_TEST_LOG ?? 'silent');
const servers: AdsServer[] = [];
const clients: XdsClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) await server.close();
});

/** A server whose every node gets `current()` (set when its stream opens, so the proxy's node id need not be known). */
async function startServer(current: () => Snapshot, port = 0): Promise<{ ads: AdsServer; cache: SnapshotCache; port: number }> {
  const cache = new SnapshotCache();
  const ads = createAdsServer(cache, { onStreamOpen: (node) => cache.setSnapshot(node.id, current()) }, { logger: silent });
  servers.push(ads);
  return { ads, cache, port: await ads.listen('127.0.0.1', port) };
}

function startClient(port: number, protocol: XdsProtocol, service = 'reviews') {
  const applied: Bootstrap[] = [];
  const client = new XdsClient({
    target: `127.0.0.1:${port}`,
    protocol,
    node: buildNode({ service, namespace: 'default', version: 'v1', labels: { team: 'books' }, address: '127.0.0.1', appPort: 9080 }),
    log: silent,
    apply: async (bootstrap) => {
      applied.push(bootstrap);
    },
    backoffInitialMs: 50,
    backoffMaxMs: 200,
  });
  clients.push(client);
  client.start();
  return { client, applied };
}

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function withWeightedRoute(input: SnapshotInput, version: string): SnapshotInput {
  const route = {
    name: 'r1',
    virtual_hosts: [{
      name: 'all', domains: ['*'],
      routes: [{ match: { prefix: '/' }, route: { weighted_clusters: { clusters: [{ name: 'a', weight: { value: 90 } }, { name: 'b', weight: { value: 10 } }] } } }],
    }],
  };
  return { ...input, [TYPE_URL.ROUTE]: { version, resources: [route] } };
}

describe.each(['delta', 'sotw'] as const)('XdsClient (%s)', (protocol) => {
  it('assembles listener, route, clusters and endpoints into one applied Bootstrap, and ACKs every type', async () => {
    const { ads, port } = await startServer(() => new Snapshot(meshInput()));
    const { client, applied } = startClient(port, protocol);
    await client.synchronized;
    const bootstrap = applied.at(-1)!;
    expect(bootstrap.listeners.map((l) => [l.name, l.address.port, l.routeConfig.name])).toEqual([['l1', 15001, 'r1']]);
    expect(bootstrap.clusters.map((c) => [c.name, c.endpoints.map((e) => e.port)])).toEqual([['a', [9001]], ['b', [9002, 9003]]]);
    const status = await waitFor('every type ACKed', () => {
      const stream = ads.status()[0];
      return stream !== undefined && stream.types.length === 4 && stream.types.every((t) => t.ackedVersion === t.sentVersion) && stream;
    });
    expect(status.protocol).toBe(protocol);
    expect(status.node.cluster).toBe('reviews');
    // What the control plane's auto-registration reads from the node.
    const announced = readNodeMetadata(status.node.id, status.node.metadata);
    expect(announced.problems).toEqual([]);
    expect(announced.announcement).toMatchObject({
      service: 'reviews', namespace: 'default', version: 'v1', labels: { app: 'reviews', team: 'books' }, address: '127.0.0.1', appPort: 9080,
    });
    expect(status.node.id).toMatch(/^sidecar~127\.0\.0\.1~reviews-\d+\.default~default\.svc\.cluster\.local$/);
    expect(client.status().types[TYPE_URL.ROUTE]).toMatchObject({ version: 'r1', resources: 1 });
    expect(client.status()).toMatchObject({ state: 'connected', synced: true, lastNack: null, waitingFor: [] });
  });

  it('follows a route change, unwrapping weights', async () => {
    let snapshot = new Snapshot(meshInput());
    const { cache, port } = await startServer(() => snapshot);
    const { client, applied } = startClient(port, protocol);
    await client.synchronized;
    snapshot = new Snapshot(withWeightedRoute(meshInput(), 'r2'));
    cache.setSnapshot(client.status().nodeId, snapshot);
    const changed = await waitFor('the weighted route applied', () => applied.find((b) => b.listeners[0]?.routeConfig.virtualHosts[0]?.routes.length === 1));
    expect(changed.listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!.action).toMatchObject({
      type: 'route', clusters: [{ name: 'a', weight: 90 }, { name: 'b', weight: 10 }], totalWeight: 100,
    });
  });

  it('NACKs an unsupported cluster field with a precise message and keeps the last good config', async () => {
    let snapshot = new Snapshot(meshInput());
    const { ads, cache, port } = await startServer(() => snapshot);
    const { client, applied } = startClient(port, protocol);
    await client.synchronized;
    const appliedBefore = applied.length;
    const name = 'outbound|9080|v1|reviews.default.svc.cluster.local';
    const bad = { ...cluster(name), lrs_server: {} };
    snapshot = new Snapshot({
      ...meshInput({ cds: 'c2', eds: 'e2' }),
      [TYPE_URL.CLUSTER]: { version: 'c2', resources: [cluster('a'), cluster('b'), bad] },
      [TYPE_URL.ENDPOINT]: { version: 'e2', resources: [endpoints('a', [9001]), endpoints('b', [9002, 9003]), endpoints(name, [9080])] },
    });
    cache.setSnapshot(client.status().nodeId, snapshot);
    const message = `Cluster ${name}: lrs_server is not supported`;
    const cds = await waitFor('the NACK at the server', () => ads.status()[0]?.types.find((t) => t.typeUrl === TYPE_URL.CLUSTER && t.nackMessage !== null));
    expect(cds.nackMessage).toBe(message);
    expect(client.status().lastNack).toMatchObject({ typeUrl: TYPE_URL.CLUSTER, message });
    expect(client.status().types[TYPE_URL.CLUSTER]!.version).toBe('c1');
    expect(applied.length).toBe(appliedBefore);
  });

  it('keeps its config while the control plane is down and resyncs from a new server on the same port', async () => {
    let snapshot = new Snapshot(meshInput());
    const first = await startServer(() => snapshot);
    const { client, applied } = startClient(first.port, protocol);
    await client.synchronized;
    await first.ads.close();
    await waitFor('the client to notice', () => client.status().state !== 'connected');
    expect(applied.length).toBe(1);
    snapshot = new Snapshot(meshInput({ eds: 'e2' }, 9100));
    const second = await startServer(() => snapshot, first.port);
    await waitFor('the new endpoints', () => applied.at(-1)!.clusters[0]!.endpoints[0]!.port === 9100);
    // A type whose version did not change is not re-sent (SotW: the client announced it held that version).
    await waitFor('the resync ACKed', () => second.ads.status()[0]?.types.every((t) => t.ackedVersion === (t.sentVersion ?? t.ackedVersion)));
    const eds = second.ads.status()[0]!.types.find((t) => t.typeUrl === TYPE_URL.ENDPOINT)!;
    expect(eds).toMatchObject({ ackedVersion: 'e2', nackMessage: null });
    expect(client.status().connects).toBe(2);
  });
});

describe('delta and state of the world', () => {
  it('converge on the same Bootstrap', async () => {
    const input = withWeightedRoute(meshInput(), 'r9');
    input[TYPE_URL.LISTENER] = { version: 'l9', resources: [listener('l1', 15001, 'r1'), listener('l2', 15002, 'r1')] };
    const { port } = await startServer(() => new Snapshot(input));
    const delta = startClient(port, 'delta', 'a');
    const sotw = startClient(port, 'sotw', 'b');
    await Promise.all([delta.client.synchronized, sotw.client.synchronized]);
    expect(delta.applied.at(-1)!.listeners).toHaveLength(2);
    expect(sotw.applied.at(-1)).toEqual(delta.applied.at(-1));
  });

  it('waits for a new route configuration before applying the listener that names it', async () => {
    let snapshot = new Snapshot(meshInput());
    const { cache, port } = await startServer(() => snapshot);
    const { client, applied } = startClient(port, 'delta');
    await client.synchronized;
    // l1 now names r2; r2 arrives in the same snapshot, after the listener (push order LDS, RDS).
    const input = meshInput({ lds: 'l2', rds: 'r2' });
    input[TYPE_URL.LISTENER] = { version: 'l2', resources: [listener('l1', 15001, 'r2')] };
    input[TYPE_URL.ROUTE] = { version: 'r2', resources: [routeConfig('r2', ['b'])] };
    snapshot = new Snapshot(input);
    cache.setSnapshot(client.status().nodeId, snapshot);
    await waitFor('r2 applied', () => applied.at(-1)!.listeners[0]!.routeConfig.name === 'r2');
    expect(applied.every((b) => b.listeners.every((l) => l.routeConfig.virtualHosts.length > 0))).toBe(true);
    expect(client.status().types[TYPE_URL.ROUTE]).toMatchObject({ resources: 1 });
  });
});
