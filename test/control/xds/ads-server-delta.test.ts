import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../../control/xds/ads-server.js';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { Snapshot } from '../../../control/xds/snapshot.js';
import { createLogger } from '../../../src/log.js';
import {
  decodeAny, deltaClient, node, sotwClient,
  type AdsTestClient, type DeltaClient, type DeltaDiscoveryResponse,
} from './ads-test-client.js';
import { cluster, meshInput, meshSnapshot } from './xds-fixtures.js';

let events: string[] = [];
let cache: SnapshotCache;
let ads: AdsServer;
let port: number;
const clients: AdsTestClient<{ nonce: string; type_url: string }>[] = [];

beforeEach(async () => {
  const seen: string[] = (events = []);
  cache = new SnapshotCache();
  ads = createAdsServer(
    cache,
    {
      onAck: (n, typeUrl, version) => seen.push(`ack ${n.id} ${typeUrl.split('.').pop()} ${version}`),
      onNack: (n, typeUrl, version, message) => seen.push(`nack ${n.id} ${typeUrl.split('.').pop()} ${version} ${message}`),
    },
    { logger: createLogger('xds-test', 'silent') },
  );
  port = await ads.listen('127.0.0.1', 0);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await ads.close();
});

function connect(): DeltaClient {
  const client = deltaClient(port);
  clients.push(client);
  return client;
}

function names(response: DeltaDiscoveryResponse): string[] {
  return (response.resources ?? []).map((resource) => resource.name);
}

function ack(client: DeltaClient, response: DeltaDiscoveryResponse): void {
  client.send({ type_url: response.type_url, response_nonce: response.nonce });
}

describe('ADS incremental (delta)', () => {
  it('syncs wildcard CDS and named EDS, with per-resource versions', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
    const cds = await client.next();
    expect(names(cds)).toEqual(['a', 'b']);
    expect(cds.system_version_info).toBe('c1');
    const snapshotCluster = cache.getSnapshot('n1')!.encodedType(TYPE_URL.CLUSTER)!.resources.get('a')!;
    expect(cds.resources![0].version).toBe(snapshotCluster.version);
    expect(decodeAny(cds.resources![0].resource).type).toBe('EDS');

    client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: ['a'] });
    expect(names(await client.next())).toEqual(['a']);
    expect(ads.status()[0]).toMatchObject({ protocol: 'delta' });
  });

  it('sends only what initial_resource_versions lacks', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const current = cache.getSnapshot('n1')!.encodedType(TYPE_URL.CLUSTER)!.resources.get('a')!.version;
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER, initial_resource_versions: { a: current, gone: 'x' } });
    const response = await client.next();
    expect(names(response)).toEqual(['b']);
    expect(response.removed_resources).toEqual(['gone']);
  });

  it('subscribes and unsubscribes named resources', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: ['a'] });
    ack(client, await client.next());
    client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: ['b'], resource_names_unsubscribe: ['a'] });
    const second = await client.next();
    expect(names(second)).toEqual(['b']);
    ack(client, second);
    // Endpoints of 'a' change: the proxy no longer wants them, so nothing is pushed.
    const input = meshInput({ eds: 'e2' });
    const endpoints = input[TYPE_URL.ENDPOINT]!;
    cache.setSnapshot('n1', new Snapshot({ ...input, [TYPE_URL.ENDPOINT]: { version: 'e2', resources: [meshInput({}, 9500)[TYPE_URL.ENDPOINT]!.resources[0], endpoints.resources[1]] } }));
    expect(await client.quiet()).toBe(true);
    const status = ads.status()[0].types.find((t) => t.typeUrl === TYPE_URL.ENDPOINT)!;
    expect(status.subscribed).toEqual(['b']);
    expect(status.ackedVersion).toBe('e2'); // it holds everything of e2 it asked for
  });

  it('reports removed resources and pushes only changed ones', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
    ack(client, await client.next());
    const input = meshInput({ cds: 'c2' });
    cache.setSnapshot('n1', new Snapshot({ ...input, [TYPE_URL.CLUSTER]: { version: 'c2', resources: [cluster('a'), cluster('c')] } }));
    const update = await client.next();
    expect(names(update)).toEqual(['c']); // 'a' is unchanged
    expect(update.removed_resources).toEqual(['b']);
    expect(update.system_version_info).toBe('c2');
  });

  it('tracks ACK and NACK per nonce', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
    ack(client, await client.next());
    await expect.poll(() => events).toContain('ack n1 Cluster c1');
    cache.setSnapshot('n1', meshSnapshot({ cds: 'c2' }, 9001)); // same clusters: nothing to send, but the proxy now holds c2
    expect(await client.quiet(100)).toBe(true);
    cache.setSnapshot('n1', new Snapshot({ ...meshInput({ cds: 'c3' }), [TYPE_URL.CLUSTER]: { version: 'c3', resources: [cluster('a'), { ...cluster('b'), lb_policy: 'RANDOM' }] } }));
    const update = await client.next();
    expect(update.system_version_info).toBe('c3');
    client.send({ type_url: TYPE_URL.CLUSTER, response_nonce: update.nonce, error_detail: { code: 3, message: 'RANDOM is not supported' } });
    await expect.poll(() => events).toContain('nack n1 Cluster c2 RANDOM is not supported');
    expect(ads.status()[0].types[0]).toMatchObject({ sentVersion: 'c3', ackedVersion: 'c2', nackMessage: 'RANDOM is not supported' });
    ack(client, update); // a later ACK of the same nonce is stale and changes nothing
    expect(await client.quiet(100)).toBe(true);
    expect(ads.status()[0].types[0]).toMatchObject({ ackedVersion: 'c2' });
  });

  it('keeps a huge NACK message cut, in the status and the callback', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
    const first = await client.next();
    client.send({ type_url: TYPE_URL.CLUSTER, response_nonce: first.nonce, error_detail: { code: 3, message: 'E'.repeat(1_000_000) } });
    await expect.poll(() => events.filter((e) => e.startsWith('nack')).length).toBe(1);
    expect(events.find((e) => e.startsWith('nack'))!.length).toBeLessThan(4200);
    expect(ads.status()[0]!.types[0]!.nackMessage).toBe(`${'E'.repeat(4096)}... (1000000 characters)`);
  });

  it('converges on the same resources as a state-of-the-world client', async () => {
    const snapshot = meshSnapshot({}, 9300);
    cache.setSnapshot('sotw', snapshot);
    cache.setSnapshot('delta', snapshot);
    const sotw = sotwClient(port);
    clients.push(sotw);
    const delta = connect();
    const subscriptions: [string, string[]][] = [
      [TYPE_URL.CLUSTER, []], [TYPE_URL.ENDPOINT, ['a', 'b']], [TYPE_URL.LISTENER, []], [TYPE_URL.ROUTE, ['r1']],
    ];
    for (const [typeUrl, resourceNames] of subscriptions) {
      sotw.send({ node: node('sotw'), type_url: typeUrl, resource_names: resourceNames });
      delta.send({ node: node('delta'), type_url: typeUrl, resource_names_subscribe: resourceNames });
    }
    const fromSotw = new Map<string, string>();
    const fromDelta = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      const s = await sotw.next();
      for (const any of s.resources ?? []) fromSotw.set(`${s.type_url} ${JSON.stringify(decodeAny(any))}`, any.value.toString('hex'));
      const d = await delta.next();
      for (const r of d.resources ?? []) fromDelta.set(`${d.type_url} ${JSON.stringify(decodeAny(r.resource))}`, r.resource.value.toString('hex'));
    }
    expect(fromDelta.size).toBe(6);
    expect(fromDelta).toEqual(fromSotw);
  });

  it('ends a malformed delta stream with INVALID_ARGUMENT and keeps serving others', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const bad = connect();
    bad.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER, resource_names_subscribe: ['a'] });
    await bad.next();
    bad.send({ type_url: '' });
    const status = await bad.ended();
    expect(status.code).toBe(3);
    expect(status.details).toContain('type_url is required');
    const good = connect();
    good.send({ node: node('n1'), type_url: TYPE_URL.LISTENER });
    expect(names(await good.next())).toEqual(['l1']);
  });
});
