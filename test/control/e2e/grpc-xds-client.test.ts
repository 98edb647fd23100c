// A real proxyless gRPC client (@grpc/grpc-js-xds) served by the real control
// plane: `isthmus control` (bin/isthmus.js over dist/, so `npx tsc -p .`
// first) watches a config dir holding a STATIC ServiceEntry whose endpoints
// are three grpc-js servers (reviews v1/v2/v3), a DestinationRule and a
// VirtualService. The client's bootstrap points at the control plane's xDS
// port with node metadata GENERATOR=grpc; a channel for
// `xds:///reviews.default.svc.cluster.local:9080` must resolve, follow the
// 80/20 split, send `end-user: jason` to v3, follow an edit of the watched
// VirtualService, and show as SYNCED in `isthmus proxy-status`, without NACKs.
// grpc-js-xds reads its bootstrap once per process, so one control plane
// serves the whole file.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxySync, Syncz } from '../../../control/mesh/sync-status.js';
import { isthmus, ROOT, startControl, waitFor, type RunningControl } from './control-harness.js';

const NODE_ID = 'grpc-client-1';
const NODE_METADATA = { GENERATOR: 'grpc', NAMESPACE: 'default' };
const TARGET = 'xds:///reviews.default.svc.cluster.local:9080';
const CALL_DEADLINE_MS = 3_000;
/** Bounds every loop of calls (each test's own timeout is above it). */
const LOOP_BUDGET_MS = 15_000;
const TEST_TIMEOUT_MS = 20_000;
const SETUP_TIMEOUT_MS = 30_000;
const XDS_TYPES = ['cds', 'lds', 'eds', 'rds'] as const;

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

function serviceEntryYaml(ports: readonly number[]): string {
  return `apiVersion: networking.istio.io/v1beta1
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
`;
}

const DESTINATION_RULE_YAML = `apiVersion: networking.istio.io/v1beta1
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
`;

function virtualServiceYaml(weights: readonly [number, number]): string {
  return `apiVersion: networking.istio.io/v1beta1
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

let dir: string | undefined;
let Reviews: ReviewsClientConstructor;
const servers: grpc.Server[] = [];
const clients: ReviewsClient[] = [];
let control: RunningControl | undefined;

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

/** Replaces a watched file in one step (write aside, rename), so the watcher never reads half a file. */
function replaceFile(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-grpc-xds-'));
  writeFileSync(join(dir, 'reviews.proto'), PROTO);
  const definition = protoLoader.loadSync(join(dir, 'reviews.proto'), { keepCase: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { isthmus: { test: { Reviews: ReviewsClientConstructor } } };
  Reviews = pkg.isthmus.test.Reviews;
  const ports = [await startServer('v1'), await startServer('v2'), await startServer('v3')];
  control = await startControl((configDir) => {
    writeFileSync(join(configDir, 'reviews-service-entry.yaml'), serviceEntryYaml(ports));
    writeFileSync(join(configDir, 'reviews-destination-rule.yaml'), DESTINATION_RULE_YAML);
    writeFileSync(join(configDir, 'reviews-virtual-service.yaml'), virtualServiceYaml([80, 20]));
  }, undefined, ['--push-debounce-quiet', '20ms']);
  expect(control.xdsPort).toBeGreaterThan(0);

  // grpc-js-xds reads (and caches) its bootstrap when the first xds: channel resolves.
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${control.xdsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: NODE_ID, metadata: NODE_METADATA, locality: {} },
  });
  const xds = (await import('@grpc/grpc-js-xds')) as { register(): void };
  xds.register();
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) server.forceShutdown();
  if (control !== undefined) {
    const code = await control.stop();
    control.remove();
    control = undefined;
    expect(code).toBe(0);
  }
  delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, SETUP_TIMEOUT_MS);

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

/** The grpc client's streams as /debug/syncz reports them. */
async function grpcStreams(): Promise<ProxySync[]> {
  const res = await control!.admin('/debug/syncz');
  expect(res.status).toBe(200);
  return (JSON.parse(res.text) as Syncz).proxies.filter((p) => p.node === NODE_ID);
}

/** Every xDS type of every grpc client stream that NACKed, as "type: message". */
async function nacks(): Promise<string[]> {
  return (await grpcStreams()).flatMap((p) => XDS_TYPES.flatMap((t) => {
    const sync = p.types[t];
    return sync?.nackMessage != null ? [`${t}: ${sync.nackMessage}`] : [];
  }));
}

/** The grpc client's stream once every type it holds is SYNCED (sent and ACKed). */
function synced(stream: ProxySync | undefined): ProxySync | undefined {
  return stream !== undefined && XDS_TYPES.every((t) => stream.types[t]?.state === 'SYNCED') ? stream : undefined;
}

describe('a @grpc/grpc-js-xds client served by `isthmus control`', () => {
  it('resolves the xds:/// target and reaches a reviews server, ACKing every type', async () => {
    const version = await get(client());
    expect(['v1', 'v2']).toContain(version);
    // The ACKs travel on the ADS stream, not the call's connection: wait (bounded) for them to arrive.
    const stream = await waitFor('every type SYNCED in /debug/syncz', async () => synced((await grpcStreams())[0]), 5_000);
    expect(stream.protocol).toBe('sotw');
    expect(stream.problems).toEqual([]);
    expect(await nacks()).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('is listed as SYNCED by `isthmus proxy-status`', async () => {
    const url = `http://127.0.0.1:${control!.adminPort}`;
    const status = await waitFor('proxy-status to show the grpc client SYNCED', () => {
      const r = isthmus(['proxy-status', '--control', url], ROOT);
      return r.code === 0 && new RegExp(`^${NODE_ID}\\s+\\S+\\s+sotw\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s*$`, 'm').test(r.stdout) ? r : undefined;
    }, 5_000);
    expect(status.stdout.split('\n')[0]).toMatch(/^NAME\s+SERVICE\s+PROTOCOL\s+CDS\s+LDS\s+EDS\s+RDS$/);
    expect(status.stdout).not.toContain('NACK');
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
    expect(await nacks()).toEqual([]);
  }, TEST_TIMEOUT_MS);

  it('follows an edit of the watched VirtualService on an open channel', async () => {
    const c = client();
    expect(['v1', 'v2']).toContain(await get(c));
    const before = synced((await grpcStreams())[0]);
    expect(before).toBeDefined();
    const rdsBefore = before!.types.rds!.acked;
    replaceFile(join(control!.configDir, 'reviews-virtual-service.yaml'), virtualServiceYaml([0, 100]));
    // The watcher, the debounced push and the client's update are asynchronous: poll (bounded) until a run of calls all go to v2.
    let streak = 0;
    const deadline = Date.now() + LOOP_BUDGET_MS;
    for (let i = 0; i < 2_000 && streak < 20 && Date.now() < deadline; i++) streak = (await get(c)) === 'v2' ? streak + 1 : 0;
    expect(streak).toBe(20);
    // The new routes were ACKed as a new RDS version.
    const after = await waitFor('the new routes ACKed', async () => {
      const s = synced((await grpcStreams())[0]);
      return s !== undefined && s.types.rds!.acked !== rdsBefore ? s : undefined;
    }, 5_000);
    expect(after.types.rds!.acked).not.toBe(rdsBefore);
    expect(await nacks()).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
