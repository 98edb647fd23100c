// What one proxy can make the control plane hold: a proxy that stops reading
// while many pushes happen costs a bounded backlog (pushes coalesce per type
// and the latest is sent once it reads again), and a subscription over the
// per-stream name limit ends the stream with RESOURCE_EXHAUSTED.
import * as grpc from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../../control/xds/ads-server.js';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { Snapshot } from '../../../control/xds/snapshot.js';
import { createLogger } from '../../../src/log.js';
import { deltaClient, node, sotwClient, type AdsTestClient } from './ads-test-client.js';
import { meshInput } from './xds-fixtures.js';

let cache: SnapshotCache;
let ads: AdsServer;
let port: number;
const clients: AdsTestClient<{ nonce: string; type_url: string }>[] = [];

beforeEach(async () => {
  cache = new SnapshotCache();
  ads = createAdsServer(cache, {}, { logger: createLogger('xds-test', 'silent') });
  port = await ads.listen('127.0.0.1', 0);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await ads.close();
});

/** A CDS-only snapshot of `count` clusters with long names (~`count` × 2 KB per response), at `version`. */
function bigClusters(version: string, count = 40): Snapshot {
  const resources = [];
  for (let i = 0; i < count; i++) {
    resources.push({
      name: `c${i}-${'x'.repeat(2000)}`,
      type: 'STATIC',
      connect_timeout: { seconds: '1', nanos: 0 },
      lb_policy: 'ROUND_ROBIN',
      alt_stat_name: version,
    });
  }
  return new Snapshot({ [TYPE_URL.CLUSTER]: { version, resources } });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ADS stream backpressure', () => {
  for (const protocol of ['sotw', 'delta'] as const) {
    it(`${protocol}: a proxy that stops reading keeps the backlog bounded and gets the latest version once it reads`, async () => {
      cache.setSnapshot('slow', bigClusters('v0'));
      const client = protocol === 'sotw' ? sotwClient(port) : deltaClient(port);
      clients.push(client);
      client.send({ node: node('slow'), type_url: TYPE_URL.CLUSTER });
      const first = await client.next(5000);
      client.send({ type_url: TYPE_URL.CLUSTER, response_nonce: first.nonce, ...(protocol === 'sotw' ? { version_info: 'v0' } : {}) });
      await sleep(50);
      client.call.pause(); // the proxy stops reading: HTTP/2 flow control stops the server's writes

      const pushes = 300; // 85-170 KB each: 25-50 MB if every version were queued
      let maxMessages = 0;
      let maxBytes = 0;
      for (let i = 1; i <= pushes; i++) {
        cache.setSnapshot('slow', bigClusters(`v${i}`));
        if (i % 10 === 0) await sleep(5); // let gRPC write what flow control allows
        const backlog = ads.status()[0]!.backlog;
        maxMessages = Math.max(maxMessages, backlog.messages);
        maxBytes = Math.max(maxBytes, backlog.bytes);
      }
      const status = ads.status()[0]!;
      expect(status.backlog.blocked).toBe(true);
      expect(status.types[0]!.deferred).toBe(true);
      // grpc-js's write buffer (16 messages) plus the one that filled it: far from 300 versions.
      expect(maxMessages).toBeLessThanOrEqual(20);
      expect(maxBytes).toBeLessThan(4_000_000); // a delta response here is ~170 KB, a SotW one ~85 KB

      client.call.resume();
      const deadline = Date.now() + 10_000;
      let latest = '';
      let received = 0;
      while (latest !== `v${pushes}` && Date.now() < deadline) {
        const response = (await client.next(5000)) as { nonce: string; type_url: string; version_info?: string; system_version_info?: string };
        latest = response.version_info ?? response.system_version_info ?? '';
        received++;
      }
      expect(latest).toBe(`v${pushes}`);
      // What was queued before the stream filled (gRPC's buffer, HTTP/2 windows and the kernel's socket buffers,
      // a few dozen), then the latest version: the rest of the 300 were coalesced.
      expect(received).toBeLessThanOrEqual(100);
      await sleep(50);
      expect(ads.status()[0]!.backlog).toMatchObject({ messages: 0, bytes: 0, blocked: false });
    }, 30_000);
  }
});

describe('ADS streams per connection', () => {
  it('serves at most 100 streams of one connection at a time; the others wait for one to end', async () => {
    cache.setSnapshot('many', new Snapshot(meshInput()));
    const client = sotwClient(port);
    clients.push(client);
    const calls: grpc.ClientDuplexStream<object, unknown>[] = [];
    let answered = 0;
    for (let i = 0; i < 130; i++) {
      const call = (client.client as unknown as { StreamAggregatedResources(): grpc.ClientDuplexStream<object, unknown> }).StreamAggregatedResources();
      call.on('data', () => answered++);
      call.on('error', () => {});
      call.write({ node: node('many'), type_url: TYPE_URL.CLUSTER });
      calls.push(call);
    }
    // The test client's own stream (silent, so not in status()) is the connection's 100th.
    await expect.poll(() => answered, { timeout: 10_000 }).toBe(99);
    await sleep(300);
    expect(answered).toBe(99);
    expect(ads.status()).toHaveLength(99);
    for (const call of calls.slice(0, 31)) call.cancel();
    await expect.poll(() => answered, { timeout: 10_000 }).toBe(130);
    for (const call of calls) call.cancel();
  }, 30_000);
});

describe('ADS per-stream name limits', () => {
  it('delta: subscribing to more than 10000 names in several requests ends the stream with RESOURCE_EXHAUSTED', async () => {
    cache.setSnapshot('greedy', new Snapshot(meshInput()));
    const client = deltaClient(port);
    clients.push(client);
    const names = (from: number): string[] => Array.from({ length: 4000 }, (_, i) => `name-${from + i}`);
    client.send({ node: node('greedy'), type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: names(0) });
    client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: names(4000) });
    client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: names(8000) });
    const status = await client.ended(5000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('more than the 10000');
    expect(status.details).toContain('ClusterLoadAssignment');
    // The server forgot the stream, and others are still served.
    await sleep(50);
    expect(ads.status()).toEqual([]);
    const other = deltaClient(port);
    clients.push(other);
    other.send({ node: node('greedy'), type_url: TYPE_URL.CLUSTER });
    expect((await other.next(5000)).type_url).toBe(TYPE_URL.CLUSTER);
  });

  it('delta: long names spread over many requests are bounded in characters too (RESOURCE_EXHAUSTED); unsubscribing frees the budget', async () => {
    cache.setSnapshot('greedy', new Snapshot(meshInput()));
    const client = deltaClient(port);
    clients.push(client);
    const long = (i: number): string => `${i}-${'a'.repeat(1 << 20)}`; // 1 MiB: each request is under the 4 MiB a request may be
    client.send({ node: node('greedy'), type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: [long(0)] });
    for (let i = 1; i < 3; i++) client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: [long(i)] });
    client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_unsubscribe: [long(0), long(1), long(2)] });
    for (let i = 3; i < 6; i++) client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: [long(i)] });
    await sleep(500);
    expect(client.status).toBeUndefined(); // 3 MiB held at most: within the 4 MiB a stream may hold per type
    for (let i = 6; i < 12; i++) client.send({ type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: [long(i)] });
    const status = await client.ended(10_000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toMatch(/resource names of \d+ characters in all, more than the 4194304/);
    await sleep(50);
    expect(ads.status()).toEqual([]);
  }, 30_000);

  it('delta: a million names in one request is refused with RESOURCE_EXHAUSTED before it is decoded (message size)', async () => {
    const client = deltaClient(port);
    clients.push(client);
    const names = Array.from({ length: 1_000_000 }, (_, i) => `n${i}`); // ~9 MB: over the 4 MiB a request may be
    client.send({ node: node('greedy'), type_url: TYPE_URL.ENDPOINT, resource_names_subscribe: names });
    const status = await client.ended(10_000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toMatch(/larger than max/);
    expect(ads.status()).toEqual([]);
  }, 30_000);

  it('delta: initial_resource_versions over the limit is refused with RESOURCE_EXHAUSTED', async () => {
    cache.setSnapshot('greedy', new Snapshot(meshInput()));
    const client = deltaClient(port);
    clients.push(client);
    const initial: Record<string, string> = {};
    for (let i = 0; i <= 10_000; i++) initial[`n${i}`] = '1';
    client.send({ node: node('greedy'), type_url: TYPE_URL.CLUSTER, initial_resource_versions: initial });
    const status = await client.ended(5000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('initial_resource_versions');
  });

  it('sotw: resource_names over the limit is refused with RESOURCE_EXHAUSTED', async () => {
    cache.setSnapshot('greedy', new Snapshot(meshInput()));
    const client = sotwClient(port);
    clients.push(client);
    const names = Array.from({ length: 10_001 }, (_, i) => `n${i}`);
    client.send({ node: node('greedy'), type_url: TYPE_URL.ENDPOINT, resource_names: names });
    const status = await client.ended(5000);
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain('resource_names has 10001 names');
  });
});
