// A real proxyless gRPC client (@grpc/grpc-js-xds) served by the control
// plane's translation: three grpc-js servers are the reviews v1/v2/v3
// endpoints (a STATIC ServiceEntry), the ADS server serves what
// translateForProxy builds for a node whose metadata says GENERATOR=grpc, and
// a channel for `xds:///reviews.default.svc.cluster.local:9080` must resolve,
// follow the VirtualService's 80/20 split, send `end-user: jason` to v3 and
// follow a pushed change, without NACKing anything.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { readNodeMetadata } from '../../../control/registry/node-metadata.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { createAdsServer, type AdsServer } from '../../../control/xds/ads-server.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { Snapshot } from '../../../control/xds/snapshot.js';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import { createLogger } from '../../../src/log.js';

const NODE_ID = 'grpc-client-1';
const NODE_METADATA = { GENERATOR: 'grpc', NAMESPACE: 'default' };
const TARGET = 'xds:///reviews.default.svc.cluster.local:9080';
const CALL_DEADLINE_MS = 3_000;
/** Bounds every loop of calls (each test's own timeout is above it). */
const LOOP_BUDGET_MS = 15_000;
const TEST_TIMEOUT_MS = 20_000;

const PROTO = `
syntax = "proto3";
package isthmus.test;
service Reviews { rpc Get (GetRequest) returns (GetReply); }
message GetRequest { string user = 1; }
message GetReply { string version = 1; }
`;

type Reply = { version: string };
type ReviewsClient = grpc.Client & {
  Get(request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (e: grpc.ServiceError | null, r?: Reply) => void): void;
};
type ReviewsClientConstructor = new (target: string, credentials: grpc.ChannelCredentials) => ReviewsClient;

function meshYaml(ports: readonly number[], weights: readonly [number, number] = [80, 20]): string {
  return `
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: grpc, protocol: GRPC}
  endpoints:
${ports.map((p, i) => `  - {address: 127.0.0.1, ports: {grpc: ${p}}, labels: {app: reviews, version: v${i + 1}}}`).join('\n')}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpHeaderName: x-user}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: reviews, subset: v3}
  - name: split
    route:
    - destination: {host: reviews, subset: v1}
      weight: ${weights[0]}
    - destination: {host: reviews, subset: v2}
      weight: ${weights[1]}
    timeout: 5s
    retries: {attempts: 2, retryOn: unavailable}
`;
}

let dir: string;
let Reviews: ReviewsClientConstructor;
const servers: grpc.Server[] = [];
const clients: ReviewsClient[] = [];
let ads: AdsServer;
const acks: string[] = [];
const nacks: string[] = [];
let ports: number[];
let cache: SnapshotCache;

function startServer(version: string): Promise<number> {
  const server = new grpc.Server();
  servers.push(server);
  server.addService((Reviews as unknown as { service: grpc.ServiceDefinition }).service, {
    Get(_call: grpc.ServerUnaryCall<object, Reply>, callback: grpc.sendUnaryData<Reply>) {
      callback(null, { version });
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-grpc-xds-'));
  writeFileSync(join(dir, 'reviews.proto'), PROTO);
  const definition = protoLoader.loadSync(join(dir, 'reviews.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { isthmus: { test: { Reviews: ReviewsClientConstructor } } };
  Reviews = pkg.isthmus.test.Reviews;
  ports = [await startServer('v1'), await startServer('v2'), await startServer('v3')];
  cache = new SnapshotCache();
  publish(meshYaml(ports), '1');
  ads = createAdsServer(cache, {
    onAck: (_node, typeUrl, version) => acks.push(`${typeUrl.split('.').pop()} ${version}`),
    onNack: (_node, typeUrl, _version, message) => nacks.push(`${typeUrl.split('.').pop()}: ${message}`),
  }, { logger: createLogger('xds-test', 'silent') });
  const adsPort = await ads.listen('127.0.0.1', 0);

  // grpc-js-xds reads (and caches) its bootstrap when the first xds: channel resolves.
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: NODE_ID, metadata: NODE_METADATA, locality: {} },
  });
  const xds = (await import('@grpc/grpc-js-xds')) as { register(): void };
  xds.register();
}, TEST_TIMEOUT_MS);

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) server.forceShutdown();
  await ads?.close();
  delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

/** Translates the YAML for the proxyless node (read from its metadata, as the control plane does) and sets its snapshot. */
function publish(yaml: string, version: string): void {
  const resources = parseResources(yaml, 'mesh.yaml');
  const registry = new ServiceRegistry();
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const read = readNodeMetadata(NODE_ID, NODE_METADATA);
  expect(read.problems).toEqual([]);
  expect(read.proxy.proxyless).toBe(true);
  const out = translateForProxy(read.proxy, createMeshConfig(resources), registry);
  cache.setSnapshot(NODE_ID, new Snapshot({
    [TYPE_URL.CLUSTER]: { version, resources: out.clusters },
    [TYPE_URL.ENDPOINT]: { version, resources: out.endpoints },
    [TYPE_URL.LISTENER]: { version, resources: out.listeners },
    [TYPE_URL.ROUTE]: { version, resources: out.routes },
  }));
}

function client(target = TARGET): ReviewsClient {
  const c = new Reviews(target, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

function get(c: ReviewsClient, user?: string): Promise<string> {
  const metadata = new grpc.Metadata();
  if (user !== undefined) metadata.set('end-user', user);
  return new Promise((resolve, reject) => {
    c.Get({ user: user ?? '' }, metadata, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, reply) => {
      if (error !== null) reject(new Error(`Get failed: ${error.code} ${error.details}`));
      else resolve(reply!.version);
    });
  });
}

async function countVersions(c: ReviewsClient, calls: number, user?: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const deadline = Date.now() + LOOP_BUDGET_MS;
  for (let i = 0; i < calls && Date.now() < deadline; i++) {
    const version = await get(c, user);
    counts[version] = (counts[version] ?? 0) + 1;
  }
  return counts;
}

describe('a @grpc/grpc-js-xds client served by the control plane translation', () => {
  it('resolves the xds:/// target and reaches a reviews server, ACKing every type', async () => {
    const version = await get(client());
    expect(['v1', 'v2']).toContain(version);
    expect(nacks).toEqual([]);
    // The ACKs travel on the ADS stream, not the call's connection: wait (bounded) for them to arrive.
    const wanted = ['Listener 1', 'RouteConfiguration 1', 'Cluster 1', 'ClusterLoadAssignment 1'];
    for (let i = 0; i < 100 && !wanted.every((a) => acks.includes(a)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(acks).toEqual(expect.arrayContaining(wanted));
    expect(nacks).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('follows the weighted 80/20 split between v1 and v2', async () => {
    const counts = await countVersions(client(), 200);
    expect((counts.v1 ?? 0) + (counts.v2 ?? 0)).toBe(200);
    // v2 ~ Binomial(200, 0.2): mean 40, sd 5.7; [20, 62] is beyond 3.5 sd on each side.
    expect(counts.v2 ?? 0).toBeGreaterThanOrEqual(20);
    expect(counts.v2 ?? 0).toBeLessThanOrEqual(62);
    expect(counts.v3).toBeUndefined();
  }, TEST_TIMEOUT_MS);

  it('sends end-user: jason to v3 by the header match', async () => {
    const c = client();
    expect(await countVersions(c, 20, 'jason')).toEqual({ v3: 20 });
    // Anyone else stays on the split.
    expect(['v1', 'v2']).toContain(await get(c, 'alice'));
  }, TEST_TIMEOUT_MS);

  it('resolves the short name from the same namespace, without a port', async () => {
    expect(['v1', 'v2']).toContain(await get(client('xds:///reviews')));
    expect(nacks).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('follows a pushed change of the split on an open channel', async () => {
    const c = client();
    expect(['v1', 'v2']).toContain(await get(c));
    publish(meshYaml(ports, [0, 100]), '2');
    // The push is asynchronous: poll (bounded) until a run of calls all go to v2.
    let streak = 0;
    const deadline = Date.now() + LOOP_BUDGET_MS;
    for (let i = 0; i < 2_000 && streak < 20 && Date.now() < deadline; i++) streak = (await get(c)) === 'v2' ? streak + 1 : 0;
    expect(streak).toBe(20);
    expect(acks).toContain('RouteConfiguration 2');
    expect(nacks).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
