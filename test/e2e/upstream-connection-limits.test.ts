// A cluster's HttpProtocolOptions common_http_protocol_options, seen from the
// upstream: max_requests_per_connection closes a pooled HTTP/1.1 connection
// after that many requests (the deprecated cluster-level field too), and
// idle_timeout closes a pooled connection nobody used for that long, so the
// next request opens a new one.
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

const OPTIONS_NAME = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const OPTIONS_TYPE = `type.googleapis.com/${OPTIONS_NAME}`;

/** An upstream that records, per request, the client port of its connection, and when each connection closed. */
interface CountingUpstream {
  readonly upstream: Upstream;
  /** The proxy-side port of the connection each request came on, in order. */
  readonly requestPorts: number[];
  /** Proxy-side port -> the time (ms) the upstream saw that connection close. */
  readonly closedAt: Map<number, number>;
}

async function countingUpstream(): Promise<CountingUpstream> {
  const requestPorts: number[] = [];
  const closedAt = new Map<number, number>();
  const upstream = await startUpstream((req, res) => {
    requestPorts.push(req.socket.remotePort!);
    res.end('ok');
  });
  upstream.server.keepAliveTimeout = 60_000; // the proxy, not this server, must be the one closing
  upstream.server.on('connection', (socket: net.Socket) => {
    const port = socket.remotePort!;
    socket.on('close', () => closedAt.set(port, Date.now()));
  });
  return { upstream, requestPorts, closedAt };
}

function protocolOptions(common: Record<string, unknown>): Record<string, unknown> {
  return { [OPTIONS_NAME]: { '@type': OPTIONS_TYPE, common_http_protocol_options: common, explicit_http_config: { http_protocol_options: {} } } };
}

let limited: CountingUpstream;
let legacy: CountingUpstream;
let idle: CountingUpstream;
let proxy: RunningProxy;
/** An h2c upstream: the client port of each request's session, and sessions seen closed. */
let h2server: http2.Http2Server;
const h2RequestPorts: number[] = [];
const h2Closed = new Set<number>();

beforeAll(async () => {
  [limited, legacy, idle] = await Promise.all([countingUpstream(), countingUpstream(), countingUpstream()]);
  h2server = http2.createServer();
  h2server.on('session', (session) => {
    const port = session.socket.remotePort!;
    session.on('close', () => h2Closed.add(port));
  });
  h2server.on('stream', (stream) => {
    h2RequestPorts.push(stream.session!.socket.remotePort!);
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((resolve) => h2server.listen(0, '127.0.0.1', resolve));
  const h2Port = (h2server.address() as net.AddressInfo).port;
  const routes = ['limited', 'legacy', 'idle', 'h2'].map((name) => ({ match: { prefix: `/${name}` }, route: { cluster: name } }));
  const bootstrap = bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes }] }, [
    { name: 'limited', ports: [limited.upstream.port] },
    { name: 'legacy', ports: [legacy.upstream.port] },
    { name: 'idle', ports: [idle.upstream.port] },
    { name: 'h2', ports: [h2Port] },
  ]) as { static_resources: { clusters: Record<string, unknown>[] } };
  const [limitedCluster, legacyCluster, idleCluster, h2Cluster] = bootstrap.static_resources.clusters;
  h2Cluster!.typed_extension_protocol_options = { [OPTIONS_NAME]: {
    '@type': OPTIONS_TYPE, common_http_protocol_options: { max_requests_per_connection: 2 }, explicit_http_config: { http2_protocol_options: {} },
  } };
  limitedCluster!.typed_extension_protocol_options = protocolOptions({ max_requests_per_connection: 2 });
  legacyCluster!.max_requests_per_connection = 1; // deprecated in Envoy, still read
  idleCluster!.typed_extension_protocol_options = protocolOptions({ idle_timeout: '1s' });
  proxy = await startProxy({ bootstrap });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([limited, legacy, idle].map((u) => u?.upstream.close()));
  await new Promise((resolve) => h2server?.close(resolve));
});

async function getOk(path: string): Promise<void> {
  const res = await request(proxy.port, path);
  expect(res.status).toBe(200);
}

describe('common_http_protocol_options on an upstream HTTP/1.1 pool', () => {
  it('max_requests_per_connection: 2 gives the upstream a new connection every 2 requests, and closes the used ones', async () => {
    for (let i = 0; i < 6; i++) await getOk(`/limited/${i}`);
    const ports = limited.requestPorts;
    expect(ports).toHaveLength(6);
    expect(new Set(ports).size).toBe(3);
    expect([ports[0] === ports[1], ports[2] === ports[3], ports[4] === ports[5]]).toEqual([true, true, true]);
    expect(new Set([ports[0], ports[2], ports[4]]).size).toBe(3);
    // Each connection is closed by the proxy once its second response is done (not kept idle in the pool).
    await waitFor('the upstream to see the three connections closed', () => ports.every((p) => limited.closedAt.has(p)), 5000);
  });

  it('the deprecated cluster-level max_requests_per_connection: 1 opens a connection per request', async () => {
    for (let i = 0; i < 3; i++) await getOk(`/legacy/${i}`);
    expect(legacy.requestPorts).toHaveLength(3);
    expect(new Set(legacy.requestPorts).size).toBe(3);
  });

  it('idle_timeout: 1s closes the pooled connection, and the next request opens a new one', async () => {
    await getOk('/idle/first');
    const answeredAt = Date.now();
    const first = idle.requestPorts[0]!;
    await getOk('/idle/again'); // at once: the pooled connection is reused
    expect(idle.requestPorts[1]).toBe(first);
    const closedAt = await waitFor('the upstream to see the idle connection closed', () => idle.closedAt.get(first), 10_000);
    // Not before the timeout (generous margin for timer granularity on a loaded machine).
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(800);
    await getOk('/idle/after');
    expect(idle.requestPorts).toHaveLength(3);
    expect(idle.requestPorts[2]).not.toBe(first);
  });

  it('max_requests_per_connection: 2 on an HTTP/2 upstream: no third stream on a session, and the used session closes', async () => {
    for (let i = 0; i < 4; i++) await getOk(`/h2/${i}`);
    expect(h2RequestPorts).toHaveLength(4);
    expect([h2RequestPorts[0] === h2RequestPorts[1], h2RequestPorts[2] === h2RequestPorts[3]]).toEqual([true, true]);
    expect(h2RequestPorts[2]).not.toBe(h2RequestPorts[0]);
    await waitFor('the upstream to see both sessions closed', () => h2RequestPorts.every((p) => h2Closed.has(p)), 5000);
  });
});
