// A traced request's context (its ids and sampling bits) is a pooled object
// the worker hands to the next request once this one is recorded. Through a
// real proxy, with requests held at the upstream while others come and go
// (their contexts handed back and taken again): a held request's access log
// line still follows its own sampling decision (traceable_filter reads the
// context as the request ends), a retry sends the ids the first attempt sent,
// no two requests share a trace id, and each head's B3 and traceparent agree.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startProxy, startUpstream, type RunningProxy, type SeenRequest, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { startZipkinReceiver, type ZipkinReceiver } from '../support/zipkin-receiver.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';


const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

function bootstrap(app: number, zipkin: number, traceableLog: string): Record<string, unknown> {
  const route = { cluster: 'app', timeout: '10s', retry_policy: { retry_on: '5xx', num_retries: 1 } };
  return {
    static_resources: {
      listeners: [{
        name: 'inbound',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM,
              stat_prefix: 'inbound',
              access_log: [{
                name: 'envoy.access_loggers.file',
                filter: { traceable_filter: {} },
                typed_config: { '@type': FILE_LOG, path: traceableLog, log_format: { text_format: '%REQ(:PATH)%\n' } },
              }],
              tracing: {
                provider: {
                  name: 'envoy.tracers.zipkin',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
                    collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON',
                  },
                },
                // Half sampled: pooled contexts with and without a span, reused by either kind.
                random_sampling: { value: 50 },
              },
              route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route }] }] },
            },
          }],
        }],
      }],
      clusters: [staticCluster('app', app), staticCluster('zipkin', zipkin)],
    },
  };
}

/** The ids a head carries, checked to agree between its B3 lines and its traceparent. */
function idsOf(seen: SeenRequest): { traceId: string; spanId: string } {
  const h = seen.headers;
  const traceId = String(h['x-b3-traceid']);
  const spanId = String(h['x-b3-spanid']);
  expect(traceId).toMatch(/^[0-9a-f]{16}$/);
  expect(spanId).toMatch(/^[0-9a-f]{16}$/);
  const sampled = h['x-b3-sampled'] === '1' ? '01' : '00';
  expect(h.traceparent).toBe(`00-${traceId.padStart(32, '0')}-${spanId}-${sampled}`);
  return { traceId, spanId };
}

let dir: string;
let zipkin: ZipkinReceiver;
let app: Upstream;
let proxy: RunningProxy;
/** Requests the upstream holds (the first attempt of /flaky answered 503, /held-* 200) until `release` is called. */
const held: Array<() => void> = [];
let flakyAttempts = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-trace-reuse-'));
  zipkin = await startZipkinReceiver();
  app = await startUpstream((req, res) => {
    if (req.url === '/flaky' && flakyAttempts++ === 0) held.push(() => res.writeHead(503).end('not yet'));
    else if (req.url!.startsWith('/held-')) held.push(() => res.end('ok'));
    else res.end('ok');
  });
  proxy = await startProxy({ bootstrap: bootstrap(app.port, zipkin.port, join(dir, 'traceable.log')) });
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await app?.close();
  await zipkin?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('trace context reuse', () => {
  it('logs held requests by their own sampling and retries with the ids first sent after other requests reused contexts; no trace id shared', async () => {
    const port = proxy.ports.get('inbound')!;
    const flaky = request(port, '/flaky');
    const heldRequests = Array.from({ length: 10 }, (_, i) => request(port, `/held-${i}`));
    const deadline = Date.now() + 10_000;
    while (held.length < 11 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(held.length).toBe(11);
    // 40 requests while /flaky's first attempt is held: 20 at once, then 20 one after another (contexts handed back and taken again).
    const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => request(port, `/together-${i}`, { agent })));
    for (let i = 0; i < 20; i++) expect((await request(port, `/after-${i}`, { agent })).status).toBe(200);
    agent.destroy();
    expect(together.every((r) => r.status === 200)).toBe(true);
    for (const release of held) release();
    expect((await flaky).status).toBe(200);
    expect((await Promise.all(heldRequests)).every((r) => r.status === 200)).toBe(true);

    const attempts = app.seen.filter((s) => s.url === '/flaky').map(idsOf);
    expect(attempts).toHaveLength(2);
    expect(attempts[1]).toEqual(attempts[0]);
    const others = app.seen.filter((s) => s.url !== '/flaky').map(idsOf);
    expect(others).toHaveLength(50);
    const traceIds = new Set([attempts[0]!.traceId, ...others.map((o) => o.traceId)]);
    expect(traceIds.size).toBe(51);

    // The traceable log names exactly the requests whose upstream head said sampled (held ones included).
    const sampled = app.seen.filter((s) => s.headers['x-b3-sampled'] === '1').map((s) => s.url);
    const logged = (): string[] => readFileSync(join(dir, 'traceable.log'), 'utf8').split('\n').filter((l) => l !== '');
    const until = Date.now() + 10_000;
    while (logged().length < new Set(sampled).size && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(logged().sort()).toEqual([...new Set(sampled)].sort());
  });
});
