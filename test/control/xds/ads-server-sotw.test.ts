import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer, type NodeIdentity } from '../../../control/xds/ads-server.js';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import { encoderStats } from '../../../control/xds/resource-encoder.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { createLogger } from '../../../src/log.js';
import { decodeAny, node, sotwClient, type DiscoveryResponse, type SotwClient } from './ads-test-client.js';
import { meshSnapshot } from './xds-fixtures.js';

let events: string[] = [];
let cache: SnapshotCache;
let ads: AdsServer;
let port: number;
const clients: SotwClient[] = [];

beforeEach(async () => {
  // A fresh array per test: streams of the previous test may still report their close.
  const seen: string[] = (events = []);
  cache = new SnapshotCache();
  ads = createAdsServer(
    cache,
    {
      onStreamOpen: (n: NodeIdentity) => seen.push(`open ${n.id}`),
      onStreamClosed: (n: NodeIdentity) => seen.push(`closed ${n.id}`),
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

function connect(): SotwClient {
  const client = sotwClient(port);
  clients.push(client);
  return client;
}

function names(response: DiscoveryResponse): string[] {
  return (response.resources ?? []).map((any) => {
    const decoded = decodeAny(any);
    return String(decoded.name ?? decoded.cluster_name);
  });
}

function ack(client: SotwClient, response: DiscoveryResponse, resourceNames: string[] = []): void {
  client.send({ type_url: response.type_url, version_info: response.version_info, response_nonce: response.nonce, resource_names: resourceNames });
}

/** Subscribes to CDS, EDS(a,b), LDS, RDS(r1) and returns the four first responses by type. */
async function subscribeAll(client: SotwClient, id: string): Promise<Map<string, DiscoveryResponse>> {
  client.send({ node: node(id), type_url: TYPE_URL.CLUSTER });
  client.send({ type_url: TYPE_URL.ENDPOINT, resource_names: ['a', 'b'] });
  client.send({ type_url: TYPE_URL.LISTENER });
  client.send({ type_url: TYPE_URL.ROUTE, resource_names: ['r1'] });
  const byType = new Map<string, DiscoveryResponse>();
  for (let i = 0; i < 4; i++) {
    const response = await client.next();
    byType.set(response.type_url, response);
  }
  return byType;
}

describe('ADS state of the world', () => {
  it('serves the snapshot to a client subscribing to CDS, EDS, LDS and RDS', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    const responses = await subscribeAll(client, 'n1');
    expect(names(responses.get(TYPE_URL.CLUSTER)!)).toEqual(['a', 'b']);
    expect(names(responses.get(TYPE_URL.ENDPOINT)!)).toEqual(['a', 'b']);
    expect(names(responses.get(TYPE_URL.LISTENER)!)).toEqual(['l1']);
    expect(names(responses.get(TYPE_URL.ROUTE)!)).toEqual(['r1']);
    expect(responses.get(TYPE_URL.ENDPOINT)!.version_info).toBe('e1');
    const status = ads.status();
    expect(status).toHaveLength(1);
    expect(status[0].node).toEqual({ id: 'n1', cluster: 'test', metadata: { SERVICE: 'n1' } });
    expect(status[0].protocol).toBe('sotw');
    expect(events).toEqual(['open n1']);
  });

  it('serves only the named resources of RDS/EDS and adds newly named ones', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.ENDPOINT, resource_names: ['b'] });
    const first = await client.next();
    expect(names(first)).toEqual(['b']);
    ack(client, first, ['b', 'a']);
    expect(names(await client.next())).toEqual(['b', 'a']);
  });

  it('records an ACK as the acked version, and a NACK without losing it', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    const responses = await subscribeAll(client, 'n1');
    const eds = responses.get(TYPE_URL.ENDPOINT)!;
    ack(client, eds, ['a', 'b']);
    await expect.poll(() => events).toContain('ack n1 ClusterLoadAssignment e1');

    cache.setSnapshot('n1', meshSnapshot({ eds: 'e2' }, 9100));
    const update = await client.next();
    expect(update.version_info).toBe('e2');
    client.send({
      type_url: TYPE_URL.ENDPOINT,
      version_info: 'e1',
      response_nonce: update.nonce,
      resource_names: ['a', 'b'],
      error_detail: { code: 3, message: 'port 9100 is not allowed' },
    });
    await expect.poll(() => events).toContain('nack n1 ClusterLoadAssignment e1 port 9100 is not allowed');
    const edsStatus = ads.status()[0].types.find((t) => t.typeUrl === TYPE_URL.ENDPOINT)!;
    expect(edsStatus).toMatchObject({ sentVersion: 'e2', ackedVersion: 'e1', nackMessage: 'port 9100 is not allowed' });
    expect(await client.quiet()).toBe(true); // a NACK is not answered with the same version again

    cache.setSnapshot('n1', meshSnapshot({ eds: 'e3' }, 9001));
    const fixed = await client.next();
    ack(client, fixed, ['a', 'b']);
    await expect.poll(() => ads.status()[0].types.find((t) => t.typeUrl === TYPE_URL.ENDPOINT)).toMatchObject({
      ackedVersion: 'e3',
      nackMessage: null,
    });
  });

  it('takes one verdict per response: a NACK storm on one nonce counts once, and a huge message is kept cut', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
    const first = await client.next();
    const huge = 'E'.repeat(1_000_000);
    for (let i = 0; i < 20; i++) client.send({ type_url: TYPE_URL.CLUSTER, response_nonce: first.nonce, error_detail: { code: 3, message: huge } });
    client.send({ type_url: TYPE_URL.CLUSTER, response_nonce: 'never-sent', error_detail: { code: 3, message: huge } });
    await expect.poll(() => events.filter((e) => e.startsWith('nack')).length).toBe(1);
    expect(await client.quiet(300)).toBe(true);
    const nacks = events.filter((e) => e.startsWith('nack'));
    expect(nacks).toHaveLength(1);
    expect(nacks[0]!.length).toBeLessThan(4200);
    expect(nacks[0]).toMatch(/E\.\.\. \(1000000 characters\)$/);
    const status = ads.status()[0]!.types[0]!;
    expect(status.nackMessage).toBe(`${'E'.repeat(4096)}... (1000000 characters)`);

    // The next response gets its own verdict.
    cache.setSnapshot('n1', meshSnapshot({ cds: 'c2' }, 9001));
    const second = await client.next();
    ack(client, second);
    await expect.poll(() => events).toContain('ack n1 Cluster c2');
    expect(ads.status()[0]!.types[0]).toMatchObject({ ackedVersion: 'c2', nackMessage: null });
  });

  it('pushes only EDS when only endpoints changed', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    const responses = await subscribeAll(client, 'n1');
    for (const response of responses.values()) ack(client, response, response.type_url === TYPE_URL.ROUTE ? ['r1'] : response.type_url === TYPE_URL.ENDPOINT ? ['a', 'b'] : []);
    cache.setSnapshot('n1', meshSnapshot({ eds: 'e2' }, 9100));
    const update = await client.next();
    expect(update.type_url).toBe(TYPE_URL.ENDPOINT);
    expect(update.version_info).toBe('e2');
    const assignment = decodeAny(update.resources![0]) as any;
    expect(assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(9100);
    expect(await client.quiet()).toBe(true);
  });

  it('pushes a multi-type change in make-before-break order: clusters, endpoints, listeners, routes', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    await subscribeAll(client, 'n1');
    cache.setSnapshot('n1', meshSnapshot({ cds: 'c2', eds: 'e2', lds: 'l2', rds: 'r2' }));
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push((await client.next()).type_url);
    expect(order).toEqual([TYPE_URL.CLUSTER, TYPE_URL.ENDPOINT, TYPE_URL.LISTENER, TYPE_URL.ROUTE]);
  });

  it('encodes each resource once for 50 streams and sends them the same bytes', async () => {
    const snapshot = meshSnapshot({ cds: 'shared' });
    const before = encoderStats.resourcesEncoded;
    for (let i = 0; i < 50; i++) cache.setSnapshot(`node-${i}`, snapshot);
    const streams = Array.from({ length: 50 }, () => connect());
    streams.forEach((client, i) => client.send({ node: node(`node-${i}`), type_url: TYPE_URL.CLUSTER }));
    const payloads = await Promise.all(streams.map(async (client) => (await client.next()).resources!.map((any) => any.value.toString('hex')).join()));
    expect(new Set(payloads).size).toBe(1);
    expect(encoderStats.resourcesEncoded - before).toBe(6);
    // One shared body for the wildcard CDS response at this version, built once.
    const cds = snapshot.encodedType(TYPE_URL.CLUSTER)!;
    expect([...cds.sotwBodies.keys()]).toEqual(['*']);
    expect(ads.status()).toHaveLength(50);
  });

  it('ends a malformed stream with INVALID_ARGUMENT and keeps serving others', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const noNode = connect();
    noNode.send({ type_url: TYPE_URL.CLUSTER });
    expect((await noNode.ended()).details).toBe('the first request of a stream must carry node.id');

    // The id goes into every log line about the proxy: a long one is refused before anything logs it.
    const longId = connect();
    longId.send({ node: node('x'.repeat(1025)), type_url: TYPE_URL.CLUSTER });
    const longStatus = await longId.ended();
    expect(longStatus.code).toBe(3);
    expect(longStatus.details).toBe('node.id is 1025 characters; at most 1024 are accepted');
    expect(events).toEqual([]);

    const noType = connect();
    noType.send({ node: node('n1') });
    const status = await noType.ended();
    expect(status.code).toBe(3);
    expect(status.details).toContain('type_url is required');

    // Bytes that are not a DiscoveryRequest at all: written through a raw serializer.
    const raw = await import('@grpc/grpc-js');
    const client = new raw.Client(`127.0.0.1:${port}`, raw.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(
      '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const ended = new Promise<number>((resolve) => call.on('status', (s) => resolve(s.code)));
    call.on('error', () => {});
    call.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(await ended).not.toBe(0);
    client.close();

    const healthy = connect();
    healthy.send({ node: node('n1'), type_url: TYPE_URL.LISTENER });
    expect(names(await healthy.next())).toEqual(['l1']);
  });

  it('ends a stream whose node metadata has more values than any proxy sends with INVALID_ARGUMENT, before it is known', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    // Kept for the stream's life: 150,000 small keys (a 2 MB request) held ~32 MB per stream.
    const wide: Record<string, object> = {};
    for (let i = 0; i < 20_000; i++) wide[`k${i}`] = { stringValue: 'v' };
    const greedy = connect();
    greedy.send({ node: { id: 'wide', cluster: 'test', metadata: { fields: wide } }, type_url: TYPE_URL.CLUSTER });
    const status = await greedy.ended(5000);
    expect(status.code).toBe(3);
    expect(status.details).toBe('node.metadata has more than 10000 values (fields and list items)');
    // Nested lists count too.
    const nested = connect();
    const list = { listValue: { values: Array.from({ length: 6000 }, () => ({ stringValue: 'x' })) } };
    nested.send({ node: { id: 'nested', cluster: 'test', metadata: { fields: { a: { structValue: { fields: { l1: list, l2: list } } } } } }, type_url: TYPE_URL.CLUSTER });
    expect((await nested.ended(5000)).code).toBe(3);
    expect(ads.status()).toEqual([]);
    expect(events).toEqual([]);

    // A real sidecar's worth (labels, annotations) is served.
    const labels = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`l${i}`, { stringValue: 'v' }]));
    const normal = connect();
    normal.send({ node: { id: 'n1', cluster: 'test', metadata: { fields: { SERVICE: { stringValue: 'n1' }, LABELS: { structValue: { fields: labels } } } } }, type_url: TYPE_URL.CLUSTER });
    expect((await normal.next()).type_url).toBe(TYPE_URL.CLUSTER);
  });

  it('reports a closed stream and forgets it', async () => {
    cache.setSnapshot('n1', meshSnapshot());
    const client = connect();
    client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
    await client.next();
    client.close();
    await expect.poll(() => events).toContain('closed n1');
    expect(ads.status()).toEqual([]);
    expect(cache.watcherCount('n1')).toBe(0);
  });
});

describe('ADS callbacks', () => {
  it('a throwing callback is logged, and the stream keeps working', async () => {
    const own = new SnapshotCache();
    const server = createAdsServer(
      own,
      { onStreamOpen: () => { throw new Error('status page down'); }, onAck: () => { throw new Error('status page down'); } },
      { logger: createLogger('xds-test', 'silent') },
    );
    const ownPort = await server.listen('127.0.0.1', 0);
    try {
      own.setSnapshot('n1', meshSnapshot());
      const client = sotwClient(ownPort);
      clients.push(client);
      client.send({ node: node('n1'), type_url: TYPE_URL.CLUSTER });
      ack(client, await client.next());
      own.setSnapshot('n1', meshSnapshot({ cds: 'c2' }));
      expect((await client.next()).version_info).toBe('c2');
    } finally {
      await server.close();
    }
  });
});
