// gRPC through two sidecars, as between two meshed workloads: a grpc-js
// client -> sidecar A (h2c from the app) -> mutual TLS with SPIFFE
// identities and ALPN h2 -> sidecar B -> grpc-js server (h2c). Unary with
// metadata and trailers, server streaming, error statuses passed through
// intact, a client deadline ending the call on both sides, the app learning
// the caller's SPIFFE ID, and each call counted once per sidecar.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, hcmListener, metricSum, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { unaryCall, type UnaryResult } from '../support/grpc-unary.js';
import { downstreamTls, upstreamTls } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

const A_ID = 'spiffe://cluster.local/ns/default/sa/frontend';
const B_ID = 'spiffe://cluster.local/ns/default/sa/backend';
const id = (b: Buffer): Buffer => b;

function method(path: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream: false, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
}

const SERVICE = {
  echo: method('/mesh.Echo/Unary', false),
  fail: method('/mesh.Echo/Fail', false),
  slow: method('/mesh.Echo/Slow', false),
  list: method('/mesh.Echo/List', true),
};

type Client = grpc.Client & Record<keyof typeof SERVICE, (...args: unknown[]) => unknown>;
const ClientCtor = grpc.makeGenericClientConstructor(SERVICE, 'Echo') as unknown as new (addr: string, creds: grpc.ChannelCredentials) => Client;

let server: grpc.Server;
let a: RunningProxy;
let b: RunningProxy;
let client: Client;
let slowCancelled = 0;
/** x-forwarded-client-cert as the app saw it on the last unary echo. */
let lastXfcc = '';

function listener(name: string, cluster: string, transportSocket?: Record<string, unknown>, hcmExtra: Record<string, unknown> = {}): Record<string, unknown> {
  return hcmListener(name, [prefixRoute('/', cluster, '30s')], { hcm: hcmExtra, transportSocket });
}

function cluster(name: string, port: number, transportSocket?: Record<string, unknown>): Record<string, unknown> {
  return h2Cluster(name, port, transportSocket !== undefined ? { transport_socket: transportSocket } : {});
}

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', `seen-${String(call.metadata.get('x-meta')[0] ?? '')}`);
      lastXfcc = String(call.metadata.get('x-forwarded-client-cert')[0] ?? '');
      cb(null, Buffer.concat([Buffer.from('echo:'), call.request]), trailer);
    },
    fail: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.PERMISSION_DENIED, details: 'not you: ünïcode & more' }),
    slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const t = setTimeout(() => cb(null, Buffer.from('late')), 5000);
      call.on('cancelled', () => {
        slowCancelled++;
        clearTimeout(t);
      });
    },
    list: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      for (let i = 0; i < n; i++) call.write(Buffer.from(`item-${i}`));
      call.end();
    },
  });
  const appPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  const ca = new TestCa();
  const certA = ca.leaf({ cn: 'frontend', uri: [A_ID] });
  const certB = ca.leaf({ cn: 'backend', dns: ['backend.default.svc'], uri: [B_ID] });
  b = await startProxy({
    bootstrap: { static_resources: {
      listeners: [listener('inbound', 'app', downstreamTls({ certificates: [certB], trustedCaPath: ca.certPath, requireClientCertificate: true, alpn: ['h2', 'http/1.1'] }),
        // The app learns the caller's identity from x-forwarded-client-cert.
        { forward_client_cert_details: 'SANITIZE_SET', set_current_client_cert_details: { uri: true } })],
      clusters: [cluster('app', appPort)],
    } },
  });
  a = await startProxy({
    bootstrap: { static_resources: {
      listeners: [listener('outbound', 'backend')],
      clusters: [cluster('backend', b.port, upstreamTls(ca.certPath, 'backend.default.svc', { type: 'URI', exact: B_ID }, certA))],
    } },
  });
  client = new ClientCtor(`127.0.0.1:${a.port}`, grpc.credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  await a?.stop();
  await b?.stop();
  server?.forceShutdown();
});

function unary(name: keyof typeof SERVICE, body: string, md = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<UnaryResult> {
  return unaryCall(client, SERVICE[name].path, Buffer.from(body), md, options);
}

describe('gRPC through two sidecars over mutual TLS', () => {
  it("unary: message, request metadata and response trailers intact; the app sees the caller's SPIFFE ID", async () => {
    const md = new grpc.Metadata();
    md.set('x-meta', 'm1');
    const r = await unary('echo', 'hello', md);
    expect(r.err).toBeNull();
    expect(r.value!.toString()).toBe('echo:hello');
    expect(r.trailers!.get('x-trailer')).toEqual(['seen-m1']);
    expect(lastXfcc).toContain(`URI=${A_ID}`);
  });

  it('server streaming: 2000 messages in order', async () => {
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.makeServerStreamRequest(SERVICE.list.path, id, id, Buffer.from('2000'), new grpc.Metadata(), {});
      call.on('data', (m: Buffer) => got.push(m.toString()));
      call.on('end', () => resolve());
      call.on('error', reject);
    });
    expect(got.length).toBe(2000);
    expect(got[0]).toBe('item-0');
    expect(got[1999]).toBe('item-1999');
  });

  it("an error status and its message pass through both sidecars unchanged", async () => {
    const r = await unary('fail', 'x');
    expect(r.err?.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.err?.details).toBe('not you: ünïcode & more');
  });

  it('a client deadline ends the call with DEADLINE_EXCEEDED and reaches the server as a cancellation', async () => {
    const before = slowCancelled;
    const r = await unary('slow', 'x', new grpc.Metadata(), { deadline: Date.now() + 400 });
    expect(r.err?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(r.ms).toBeLessThan(3000);
    const until = Date.now() + 5000;
    while (slowCancelled === before && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    expect(slowCancelled).toBe(before + 1);
  });

  it('both sidecars count each call once in istio_requests_total, with its gRPC status', async () => {
    for (const proxy of [a, b]) {
      const text = (await admin(proxy, '/stats/prometheus')).body;
      // unary echo + the stream: grpc-status 0 twice; the failure: 7 once.
      expect(metricSum(text, 'istio_requests_total', 'grpc_response_status="0"')).toBe(2);
      expect(metricSum(text, 'istio_requests_total', 'grpc_response_status="7"')).toBe(1);
    }
  });
});
