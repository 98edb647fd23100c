// gRPC through the proxy with @grpc/grpc-js on both sides (HTTP/2 down and
// up): unary with metadata and trailers, the three streaming shapes (bidi
// with 10k messages), deadlines, cancellation, a 20 MB message; gRPC-aware
// stats, retries on grpc-status, grpc-timeout bounded by the route's
// grpc_timeout_header_max, local replies as gRPC errors, and the fault
// filter's gRPC abort reaching a real gRPC client.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, closedPort, hcmListener, metricSum, startProxy, type RunningProxy } from './harness.js';
import { FAULT_FILTER, faultConfig, httpFilters, percent } from './http-filter-config.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { unaryCall, type UnaryResult } from '../support/grpc-unary.js';
const BIG = 20 * 1024 * 1024;
const id = (b: Buffer): Buffer => b;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
}

const SERVICE = {
  echo: method('/test.Echo/Unary', false, false),
  fail: method('/test.Echo/Fail', false, false),
  flaky: method('/test.Echo/Flaky', false, false),
  slow: method('/test.Echo/Slow', false, false),
  // Routed by '/' (no max_stream_duration): the proxy ignores grpc-timeout there, so only the client's deadline ends it.
  lazy: method('/test.Echo/Lazy', false, false),
  list: method('/test.Echo/List', false, true),
  sum: method('/test.Echo/Sum', true, false),
  chat: method('/test.Echo/Chat', true, true),
};

type Client = grpc.Client & Record<keyof typeof SERVICE, (...args: unknown[]) => unknown>;
const ClientCtor = grpc.makeGenericClientConstructor(SERVICE, 'Echo') as unknown as new (addr: string, creds: grpc.ChannelCredentials, opts?: object) => Client;
const SIZE_OPTIONS = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

let server: grpc.Server;
let serverPort = 0;
let proxy: RunningProxy;
let client: Client;
let flakyCalls = 0;
let cancelledSeen = 0;

beforeAll(async () => {
  server = new grpc.Server(SIZE_OPTIONS);
  server.addService(SERVICE, {
    echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', `seen-${String(call.metadata.get('x-meta')[0] ?? '')}`);
      cb(null, call.request, trailer);
    },
    fail: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' }),
    flaky: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => {
      flakyCalls++;
      if (flakyCalls % 2 === 1) cb({ code: grpc.status.UNAVAILABLE, details: 'try again' });
      else cb(null, Buffer.from('second time'));
    },
    slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const t = setTimeout(() => cb(null, Buffer.from('late')), 3000);
      call.on('cancelled', () => clearTimeout(t));
    },
    lazy: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const t = setTimeout(() => cb(null, Buffer.from('late')), 3000);
      call.on('cancelled', () => clearTimeout(t));
    },
    list: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      let i = 0;
      call.on('cancelled', () => cancelledSeen++);
      const timer = setInterval(() => {
        if (call.cancelled) return clearInterval(timer);
        for (let k = 0; k < 100 && i < n; k++) call.write(Buffer.from(`item-${i++}`));
        if (i >= n) {
          clearInterval(timer);
          call.end();
        }
      }, n > 100000 ? 20 : 0);
    },
    sum: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      let total = 0;
      call.on('data', (b: Buffer) => (total += Number(b.toString())));
      call.on('end', () => cb(null, Buffer.from(String(total))));
    },
    chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(b));
      call.on('end', () => call.end());
    },
  });
  serverPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
  const dead = await closedPort();
  const route = (prefix: string, cluster: string, extra: Record<string, unknown> = {}, perFilter?: Record<string, unknown>) => ({
    match: { prefix },
    route: { cluster, timeout: '30s', ...extra },
    ...(perFilter !== undefined ? { typed_per_filter_config: { [FAULT_FILTER]: faultConfig(perFilter) } } : {}),
  });
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('grpc', [
          route('/test.Echo/Flaky', 'backend', { retry_policy: { retry_on: 'unavailable', num_retries: 2 } }),
          route('/test.Echo/Slow', 'backend', { max_stream_duration: { grpc_timeout_header_max: '0.3s' } }),
          route('/test.Echo/Aborted', 'backend', {}, { abort: { grpc_status: 7, percentage: percent(100) } }),
          route('/test.Echo/Nowhere', 'empty'),
          route('/test.Echo/Dead', 'dead'),
          route('/', 'backend'),
        ], { hcm: { codec_type: 'HTTP2', http_filters: httpFilters({ fault: faultConfig({}) }) } })],
        clusters: [
          h2Cluster('backend', serverPort, { connect_timeout: '1s' }),
          h2Cluster('empty', 0, { connect_timeout: '1s', load_assignment: { cluster_name: 'empty', endpoints: [] } }),
          h2Cluster('dead', dead, { connect_timeout: '1s' }),
        ],
      },
    },
  });
  client = new ClientCtor(`127.0.0.1:${proxy.port}`, grpc.credentials.createInsecure(), SIZE_OPTIONS);
}, 60_000);

afterAll(async () => {
  client?.close();
  await proxy?.stop();
  server?.forceShutdown();
});

function unary(name: keyof typeof SERVICE | string, body: Buffer, md = new grpc.Metadata(), options: grpc.CallOptions = {}): Promise<UnaryResult> {
  return unaryCall(client, name.startsWith('/') ? name : SERVICE[name as keyof typeof SERVICE].path, body, md, options);
}

describe('gRPC through the proxy', () => {
  it('unary: message, request metadata and response trailers intact', async () => {
    const md = new grpc.Metadata();
    md.set('x-meta', 'abc');
    const r = await unary('echo', Buffer.from('hello grpc'), md);
    expect(r.err).toBeNull();
    expect(r.value!.toString()).toBe('hello grpc');
    expect(r.trailers!.get('x-trailer')).toEqual(['seen-abc']);
  });

  it('an error status and message reach the client, and istio_requests_total carries grpc_response_status', async () => {
    const r = await unary('fail', Buffer.from('x'));
    expect(r.err!.code).toBe(grpc.status.NOT_FOUND);
    expect(r.err!.details).toBe('no such thing');
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'istio_requests_total', 'grpc_response_status="5"', 'response_code="200"')).toBeGreaterThanOrEqual(1);
    expect(metricSum(stats, 'istio_requests_total', 'grpc_response_status="0"')).toBeGreaterThanOrEqual(1);
  });

  it('server streaming, client streaming, and bidi with 10k messages', async () => {
    const items = await new Promise<string[]>((resolve, reject) => {
      const got: string[] = [];
      const call = client.makeServerStreamRequest(SERVICE.list.path, id, id, Buffer.from('2000'), new grpc.Metadata(), {});
      call.on('data', (b: Buffer) => got.push(b.toString()));
      call.on('end', () => resolve(got));
      call.on('error', reject);
    });
    expect(items.length).toBe(2000);
    expect(items[1999]).toBe('item-1999');
    const sum = await new Promise<string>((resolve, reject) => {
      const call = client.makeClientStreamRequest(SERVICE.sum.path, id, id, new grpc.Metadata(), {}, (err, v) => (err ? reject(err) : resolve(v!.toString())));
      for (let i = 1; i <= 1000; i++) call.write(Buffer.from(String(i)));
      call.end();
    });
    expect(sum).toBe(String((1000 * 1001) / 2));
    const echoed = await new Promise<number>((resolve, reject) => {
      let n = 0;
      let ordered = true;
      const call = client.makeBidiStreamRequest(SERVICE.chat.path, id, id, new grpc.Metadata(), {});
      call.on('data', (b: Buffer) => {
        if (b.toString() !== `m${n}`) ordered = false;
        n++;
      });
      call.on('end', () => resolve(ordered ? n : -1));
      call.on('error', reject);
      for (let i = 0; i < 10_000; i++) call.write(Buffer.from(`m${i}`));
      call.end();
    });
    expect(echoed).toBe(10_000);
  }, 60_000);

  it('a 20 MB message both ways', async () => {
    const big = Buffer.alloc(BIG, 0x5a);
    big[BIG - 1] = 0x21;
    const r = await unary('echo', big);
    expect(r.err).toBeNull();
    expect(r.value!.length).toBe(BIG);
    expect(r.value!.equals(big)).toBe(true);
  }, 60_000);

  it("a client deadline ends the call with DEADLINE_EXCEEDED; a cancelled stream reaches the server as cancelled", async () => {
    const r = await unary('/test.Echo/Unary-slow-does-not-exist', Buffer.from('x'));
    expect(r.err!.code).toBe(grpc.status.UNIMPLEMENTED);
    const late = await unary('lazy', Buffer.from('x'), new grpc.Metadata(), { deadline: Date.now() + 200 });
    expect(late.err!.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const before = cancelledSeen;
    await new Promise<void>((resolve) => {
      const call = client.makeServerStreamRequest(SERVICE.list.path, id, id, Buffer.from('100000000'), new grpc.Metadata(), {});
      let n = 0;
      call.on('data', () => {
        if (++n === 50) call.cancel();
      });
      call.on('error', () => resolve());
    });
    await expect.poll(() => cancelledSeen - before, { timeout: 5000 }).toBe(1);
  });

  it('grpc-timeout is the route timeout, bounded by max_stream_duration.grpc_timeout_header_max', async () => {
    // The client allows 10 s; the route bounds it to 0.3 s: the proxy answers 504 as gRPC (UNAVAILABLE), long before 3 s.
    const r = await unary('slow', Buffer.from('x'), new grpc.Metadata(), { deadline: Date.now() + 10_000 });
    expect(r.err!.code).toBe(grpc.status.UNAVAILABLE);
    expect(r.err!.details).toBe('upstream request timeout');
    expect(r.ms).toBeLessThan(2500);
  });

  it('retry_on unavailable retries a trailers-only UNAVAILABLE', async () => {
    const before = flakyCalls;
    const r = await unary('flaky', Buffer.from('x'));
    expect(r.err).toBeNull();
    expect(r.value!.toString()).toBe('second time');
    expect(flakyCalls - before).toBe(2);
  });

  it('local replies reach gRPC clients as gRPC errors: no healthy upstream and connect failure are UNAVAILABLE', async () => {
    const none = await unary('/test.Echo/Nowhere', Buffer.from('x'));
    expect(none.err!.code).toBe(grpc.status.UNAVAILABLE);
    expect(none.err!.details).toBe('no healthy upstream');
    const dead = await unary('/test.Echo/Dead', Buffer.from('x'));
    expect(dead.err!.code).toBe(grpc.status.UNAVAILABLE);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(stats, 'istio_requests_total', 'response_flags="UH"', 'grpc_response_status="14"')).toBe(1);
  });

  it("the fault filter's gRPC abort reaches a real gRPC client", async () => {
    const r = await unary('/test.Echo/Aborted', Buffer.from('x'));
    expect(r.err!.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(r.err!.details).toBe('fault filter abort');
  });
});
