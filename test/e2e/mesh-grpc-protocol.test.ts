// Protocol selection from the control plane, end to end with real processes:
// a ServiceEntry port named `grpc-api` and nothing else (no DestinationRule).
// A grpc-js client -> its sidecar (h2c) -> mTLS between sidecars with ALPN h2
// -> the server's sidecar -> a grpc-js server, which speaks HTTP/2 only (h2c):
// the calls work, with metadata and trailers intact, and the hop between the
// sidecars was HTTP/2 too (the server sidecar counts its streams as HTTP/2).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startControl, type RunningControl, securePort, tokenFile } from '../control/e2e/control-harness.js';
import { admin, configDump, outboundPort, startProxy, waitFor, type RunningProxy } from './harness.js';
import { freePort } from '../../bench/peers.js';
import { unaryCall } from '../support/grpc-unary.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms'];
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const HOST = 'api.default.svc.cluster.local';
const id = (b: Buffer): Buffer => b;
const ECHO: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/mesh.Api/Echo', requestStream: false, responseStream: false,
  requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id,
};

let control: RunningControl | null = null;
let server: grpc.Server | null = null;
let client: grpc.Client | null = null;
let proxies: RunningProxy[] = [];

afterEach(async () => {
  client?.close();
  client = null;
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  proxies = [];
  await new Promise<void>((resolve) => (server === null ? resolve() : server.tryShutdown(() => resolve())));
  server = null;
  await control?.stop();
  control?.remove();
  control = null;
});

/** A grpc-js server (h2c only) answering echo with a trailer; its port. */
async function startGrpcApp(): Promise<number> {
  server = new grpc.Server();
  server.addService({ echo: ECHO }, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', `seen-${String(call.metadata.get('x-meta')[0] ?? '')}`);
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
    },
  });
  const s = server;
  return new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
}

async function sidecar(c: RunningControl, service: string, more: string[]): Promise<RunningProxy> {
  const p = await startProxy({ control: `127.0.0.1:${securePort(c)}`, args: ['--service', service, '--namespace', 'default', '--outbound-port', '0',
    '--drain-timeout', '1s', '--token-file', tokenFile(c, service), '--control-ca', join(c.dataDir, 'root-cert.pem'), ...more] });
  proxies.push(p);
  return p;
}

function sumOf(text: string, name: string, filter: (line: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name) && filter(line)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

describe('a grpc port between sidecars, chosen by its name alone', { timeout: 90_000 }, () => {
  it('carries gRPC end to end over HTTP/2 (to the h2c-only app and between the sidecars) with no DestinationRule', async () => {
    const appPort = await startGrpcApp();
    const servicePort = await freePort();
    control = await startControl((dir) => writeFileSync(join(dir, 'api.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${servicePort}, name: grpc-api}]
  workloadSelector: {labels: {app: api}}
`), undefined, CONTROL_ARGS);
    const api = await sidecar(control, 'api', ['--app-port', String(appPort), '--service-port', String(servicePort), '--inbound-port', '0']);
    const front = await sidecar(control, 'client', []);
    await waitFor('the api endpoint at the client sidecar', async () => {
      const dump = JSON.stringify(await configDump(front));
      return dump.includes(`outbound|${servicePort}||${HOST}`) && dump.includes('"address":"127.0.0.1"');
    }, 20_000);

    client = new grpc.Client(`127.0.0.1:${outboundPort(front)}`, grpc.credentials.createInsecure(),
      { 'grpc.default_authority': `${HOST}:${servicePort}` });
    const c = client;
    const call = async (i: number) => {
      const md = new grpc.Metadata();
      md.set('x-meta', `m${i}`);
      return unaryCall(c, ECHO.path, Buffer.from(`hello-${i}`), md, { deadline: Date.now() + 5000 });
    };
    // The endpoint may reach the client before the server sidecar's inbound listener is up: retry the first call.
    await waitFor('a first call through the mesh', async () => (await call(0)).err === null || undefined, 20_000).catch(() => undefined);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(i + 1)));
    for (const [i, r] of results.entries()) {
      expect(r.err?.message ?? null).toBeNull();
      expect(r.value?.toString()).toBe(`echo:hello-${i + 1}`);
      expect(r.trailers?.get('x-trailer')).toEqual([`seen-m${i + 1}`]);
    }
    const stats = (await admin(api, '/stats/prometheus')).body;
    // Between the sidecars: HTTP/2 streams on mTLS, counted as the client's SPIFFE ID.
    expect(sumOf(stats, 'isthmus_worker_downstream_http2_rq_total')).toBeGreaterThanOrEqual(20);
    expect(sumOf(stats, 'istio_requests_total{', (l) => l.includes(`source_principal="${CLIENT_ID}"`) && l.includes('mutual_tls')
      && l.includes('response_code="200"'))).toBeGreaterThanOrEqual(20);
  });
});
