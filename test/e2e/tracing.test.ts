// Distributed tracing through real proxies: client -> sidecar A (inbound) ->
// app A, which copies the trace headers onto its own call (as Bookinfo's apps
// do) -> sidecar A (outbound) -> sidecar B (inbound) -> app B, with a
// Zipkin-shaped collector receiving each proxy's spans. The spans of one
// request share the trace id and their ids link up, also when app A copies
// only the B3 headers or only traceparent; sampling 0% reports nothing and
// x-client-trace-id forces a trace; a bad tracing config is refused by field
// and the old one keeps working; a collector that is down changes nothing
// for requests.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapYaml, closedPort, configDump, metric, replaceFile, request, startProxy, startUpstream, waitFor,
  type RunningProxy, type SeenRequest, type Upstream,
} from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';
import { startZipkinReceiver, type ZipkinReceiver, type ZipkinSpan } from '../support/zipkin-receiver.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const B3_NAMES = ['x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags'];

interface TracingOptions {
  readonly sampling: number;
  readonly version?: string;
}

function tracing(o: TracingOptions): Record<string, unknown> {
  return {
    provider: {
      name: 'envoy.tracers.zipkin',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
        collector_cluster: 'zipkin',
        collector_endpoint: '/api/v2/spans',
        collector_endpoint_version: o.version ?? 'HTTP_JSON',
      },
    },
    random_sampling: { value: o.sampling },
  };
}

function listener(name: string, direction: 'INBOUND' | 'OUTBOUND', cluster: string, t: TracingOptions): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    traffic_direction: direction,
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM,
          stat_prefix: name,
          tracing: tracing(t),
          route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster, timeout: '5s' } }] }] },
        },
      }],
    }],
  };
}


/** Sidecar A: inbound to app A, outbound to sidecar B; sidecar B: inbound to app B. */
function sidecarA(appA: number, sidecarB: number, zipkin: number, t: TracingOptions): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [listener('inbound', 'INBOUND', 'app', t), listener('outbound', 'OUTBOUND', 'b', t)],
      clusters: [staticCluster('app', appA), staticCluster('b', sidecarB), staticCluster('zipkin', zipkin)],
    },
  };
}

function sidecarB(appB: number, zipkin: number, t: TracingOptions): Record<string, unknown> {
  return { static_resources: { listeners: [listener('inbound', 'INBOUND', 'app', t)], clusters: [staticCluster('app', appB), staticCluster('zipkin', zipkin)] } };
}

/** What app A received (its sidecar's inbound head), first 100 requests. */
const seenByA: { url: string; headers: http.IncomingHttpHeaders }[] = [];

/** App A: calls B through its sidecar's outbound port, copying the trace headers the `x-copy` header names (b3, w3c, both). */
function startAppA(outbound: () => number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (seenByA.length < 100) seenByA.push({ url: req.url ?? '', headers: req.headers });
    const copy = String(req.headers['x-copy'] ?? 'both');
    const names = [...(copy === 'w3c' ? [] : B3_NAMES), ...(copy === 'b3' ? [] : ['traceparent', 'tracestate']), 'x-request-id'];
    const headers: Record<string, string> = { host: 'b' };
    for (const n of names) {
      const v = req.headers[n];
      if (typeof v === 'string') headers[n] = v;
    }
    const call = http.request({ host: '127.0.0.1', port: outbound(), path: req.url, headers, agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (body += c));
      r.on('end', () => res.writeHead(r.statusCode ?? 502, { 'content-type': 'text/plain' }).end(body));
    });
    call.on('error', () => res.writeHead(502).end());
    call.end();
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

let zipkin: ZipkinReceiver;
let appB: Upstream;
let appA: http.Server;
let proxyA: RunningProxy;
let proxyB: RunningProxy;

beforeAll(async () => {
  zipkin = await startZipkinReceiver();
  appB = await startUpstream();
  proxyB = await startProxy({ bootstrap: sidecarB(appB.port, zipkin.port, { sampling: 100 }), args: ['--service', 'b'] });
  appA = await startAppA(() => proxyA.ports.get('outbound')!);
  const appAPort = (appA.address() as { port: number }).port;
  proxyA = await startProxy({ bootstrap: sidecarA(appAPort, proxyB.ports.get('inbound')!, zipkin.port, { sampling: 100 }), args: ['--service', 'a'] });
}, 60_000);

afterAll(async () => {
  await proxyA?.stop('SIGKILL');
  await proxyB?.stop('SIGKILL');
  appA?.close();
  await appB?.close();
  await zipkin?.close();
});

/** The spans of the trace whose id app B saw for the request with this path. */
async function traceOf(path: string, count: number): Promise<ZipkinSpan[]> {
  const seen = appB.seen.find((r: SeenRequest) => r.url === path);
  expect(seen, `app B saw ${path}`).toBeDefined();
  const traceId = String(seen!.headers['x-b3-traceid']);
  return waitFor(`${count} spans of trace ${traceId}`, () => {
    const spans = zipkin.spans.filter((s) => s.traceId === traceId);
    return spans.length >= count ? spans : undefined;
  }, 10_000);
}

/** client -> A inbound (SERVER, root) -> A outbound (CLIENT, its child) -> B inbound (SERVER, shared with A's CLIENT span). */
function expectChain(spans: ZipkinSpan[]): void {
  expect(spans).toHaveLength(3);
  const server = spans.filter((s) => s.kind === 'SERVER');
  const client = spans.filter((s) => s.kind === 'CLIENT');
  expect(server).toHaveLength(2);
  expect(client).toHaveLength(1);
  const root = server.find((s) => s.localEndpoint?.serviceName === 'a.default')!;
  const hopB = server.find((s) => s.localEndpoint?.serviceName === 'b.default')!;
  expect(root.parentId).toBeUndefined();
  expect(client[0]!.parentId).toBe(root.id);
  expect(client[0]!.localEndpoint?.serviceName).toBe('a.default');
  expect(hopB.id).toBe(client[0]!.id);
  expect(hopB.shared).toBe(true);
  for (const s of spans) {
    expect(s.tags?.['http.method']).toBe('GET');
    expect(s.tags?.['http.status_code']).toBe('200');
    expect(s.duration).toBeGreaterThan(0);
  }
  expect(client[0]!.tags?.upstream_cluster).toBe('b');
}

describe('trace propagation across two sidecars', () => {
  it('reports one span per proxy hop, all in one trace, parent and child ids lined up', async () => {
    const res = await request(proxyA.ports.get('inbound')!, '/both', { headers: { 'x-copy': 'both' } });
    expect(res.status).toBe(200);
    const spans = await traceOf('/both', 3);
    expectChain(spans);
    // App B got this hop's context in both formats, naming the same trace and span.
    const seen = appB.seen.find((r) => r.url === '/both')!;
    const traceId = String(seen.headers['x-b3-traceid']);
    expect(seen.headers['x-b3-sampled']).toBe('1');
    expect(seen.headers.traceparent).toBe(`00-${traceId.padStart(32, '0')}-${String(seen.headers['x-b3-spanid'])}-01`);
  });

  it('keeps the trace through a hop where the app copies only the B3 headers', async () => {
    expect((await request(proxyA.ports.get('inbound')!, '/b3-only', { headers: { 'x-copy': 'b3' } })).status).toBe(200);
    expectChain(await traceOf('/b3-only', 3));
  });

  it('keeps the trace through a hop where the app copies only traceparent', async () => {
    expect((await request(proxyA.ports.get('inbound')!, '/w3c-only', { headers: { 'x-copy': 'w3c' } })).status).toBe(200);
    expectChain(await traceOf('/w3c-only', 3));
  });

  it('continues a trace the client started (B3) and ignores malformed trace headers', async () => {
    const traceId = '463ac35c9f6413ad48485a3953bb6124';
    const res = await request(proxyA.ports.get('inbound')!, '/client-trace', {
      headers: { 'x-copy': 'both', 'x-b3-traceid': traceId, 'x-b3-spanid': 'a2fb4a1d1a96d312', 'x-b3-sampled': '1' },
    });
    expect(res.status).toBe(200);
    const spans = await traceOf('/client-trace', 3);
    const root = spans.find((s) => s.localEndpoint?.serviceName === 'a.default' && s.kind === 'SERVER')!;
    expect(root.traceId).toBe(traceId);
    expect(root.id).toBe('a2fb4a1d1a96d312');
    for (const headers of [
      { traceparent: '00-zzzz-bad' },
      { 'x-b3-traceid': '0'.repeat(32), 'x-b3-spanid': 'x'.repeat(16) },
      { b3: '-'.repeat(400) },
      { traceparent: `00-${'f'.repeat(32)}-${'0'.repeat(16)}-01` },
    ]) {
      const bad = await request(proxyA.ports.get('inbound')!, '/malformed', { headers: { 'x-copy': 'both', ...headers } });
      expect(bad.status).toBe(200);
    }
    const last = appB.seen.filter((r) => r.url === '/malformed').at(-1)!;
    expect(String(last.headers['x-b3-traceid'])).toMatch(/^[0-9a-f]{16}$/);
  });

  it('takes the first of trace headers sent twice and sends the upstream one context, not both', async () => {
    const res = await request(proxyA.ports.get('inbound')!, '/twice', {
      headers: {
        'x-copy': 'both',
        'x-b3-traceid': ['1af7651916cd43dd', '2af7651916cd43dd'],
        'x-b3-spanid': ['b7ad6b7169203331', 'c7ad6b7169203331'],
        'x-b3-sampled': ['0', '1'],
        traceparent: [`00-${'3'.repeat(32)}-${'4'.repeat(16)}-01`, `00-${'5'.repeat(32)}-${'6'.repeat(16)}-01`],
      },
    });
    expect(res.status).toBe(200);
    const seen = appB.seen.find((r) => r.url === '/twice')!;
    // Node joins repeated header lines with ", ": a single value each means one line each.
    expect(seen.headers['x-b3-traceid']).toBe('1af7651916cd43dd');
    expect(seen.headers['x-b3-sampled']).toBe('0');
    expect(String(seen.headers.traceparent)).toMatch(/^00-00000000000000001af7651916cd43dd-[0-9a-f]{16}-00$/);
  });

  it("tags the hop's span with the request's User-Agent, the first of two, found among trace headers", async () => {
    const res = await request(proxyA.ports.get('inbound')!, '/agent', {
      headers: { 'x-copy': 'both', 'x-b3-sampled': '1', 'user-agent': ['first-agent/1.0', 'second-agent/2.0'], traceparent: 'not-a-context' },
    });
    expect(res.status).toBe(200);
    const spans = await traceOf('/agent', 3);
    const root = spans.find((s) => s.kind === 'SERVER' && s.localEndpoint?.serviceName === 'a.default')!;
    expect(root.tags?.user_agent).toBe('first-agent/1.0');
  });

  it('removes every trace header the request carries, usable or not, before adding its own context', async () => {
    const res = await request(proxyA.ports.get('inbound')!, '/leftovers', {
      headers: { 'x-copy': 'both', 'x-b3-parentspanid': 'c7ad6b7169203331', b3: 'not-a-context', 'x-b3-flags': '0', 'x-b3-spanid': 'zz' },
    });
    expect(res.status).toBe(200);
    const seen = seenByA.find((r) => r.url === '/leftovers')!;
    // A new root trace: no parent, no b3, no flags; one line each of the rest.
    expect(seen.headers['x-b3-parentspanid']).toBeUndefined();
    expect(seen.headers.b3).toBeUndefined();
    expect(seen.headers['x-b3-flags']).toBeUndefined();
    expect(String(seen.headers['x-b3-spanid'])).toMatch(/^[0-9a-f]{16}$/);
    expect(String(seen.headers['x-b3-traceid'])).toMatch(/^[0-9a-f]{16}$/);
    expect(String(seen.headers.traceparent)).toBe(`00-${String(seen.headers['x-b3-traceid']).padStart(32, '0')}-${String(seen.headers['x-b3-spanid'])}-01`);
    // And with none at all, the same lines once each.
    await request(proxyA.ports.get('inbound')!, '/no-context', { headers: { 'x-copy': 'both' } });
    const plain = seenByA.find((r) => r.url === '/no-context')!;
    expect(String(plain.headers['x-b3-traceid'])).toMatch(/^[0-9a-f]{16}$/);
    expect(plain.headers['x-b3-sampled']).toBe('1');
    expect(plain.headers['x-b3-parentspanid']).toBeUndefined();
  });

  it('honours an incoming "not sampled" (x-b3-sampled: 0): context propagated, nothing reported', async () => {
    const before = zipkin.spans.length;
    const res = await request(proxyA.ports.get('inbound')!, '/not-sampled', {
      headers: { 'x-copy': 'both', 'x-b3-traceid': '0af7651916cd43dd', 'x-b3-spanid': 'b7ad6b7169203331', 'x-b3-sampled': '0' },
    });
    expect(res.status).toBe(200);
    const seen = appB.seen.find((r) => r.url === '/not-sampled')!;
    expect(seen.headers['x-b3-traceid']).toBe('0af7651916cd43dd');
    expect(seen.headers['x-b3-sampled']).toBe('0');
    expect(String(seen.headers.traceparent)).toMatch(/-00$/);
    await new Promise((r) => setTimeout(r, 2500)); // past the 1 s flush
    expect(zipkin.spans.slice(before).filter((s) => s.traceId === '0af7651916cd43dd')).toEqual([]);
  });

  it('passes a debug request on as x-b3-flags: 1 at every hop, from x-b3-flags or from the b3 header\'s "d"', async () => {
    const traceId = '5af7651916cd43dd';
    for (const [url, headers] of [
      ['/debug-alone', { b3: 'd' }],
      ['/debug-single', { b3: `${traceId}-b7ad6b7169203331-d` }],
      ['/debug-multi', { 'x-b3-traceid': traceId, 'x-b3-spanid': 'b7ad6b7169203331', 'x-b3-flags': '1' }],
    ] as const) {
      const res = await request(proxyA.ports.get('inbound')!, url, { headers: { 'x-copy': 'both', ...headers } });
      expect(res.status, url).toBe(200);
      for (const seen of [seenByA.find((r) => r.url === url)!, appB.seen.find((r) => r.url === url)!]) {
        expect(seen.headers['x-b3-flags'], url).toBe('1');
        expect(seen.headers['x-b3-sampled'], url).toBe('1');
        expect(seen.headers.b3, url).toBeUndefined();
        if (url !== '/debug-alone') expect(seen.headers['x-b3-traceid'], url).toBe(traceId);
      }
    }
    // Not debug: a b3 header sampled with '1', and a span id that merely starts with 'd'.
    const plain = await request(proxyA.ports.get('inbound')!, '/not-debug', { headers: { 'x-copy': 'both', b3: `${traceId}-d7ad6b7169203331-1` } });
    expect(plain.status).toBe(200);
    expect(seenByA.find((r) => r.url === '/not-debug')!.headers['x-b3-flags']).toBeUndefined();
    // Debug means sampled: the continued trace's spans are reported (waited for, so none arrive in a later test).
    await waitFor('debug spans', async () => (zipkin.spans.filter((sp) => sp.traceId === traceId).length >= 4 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500)); // the rest of this test's spans, past the 1 s flush
  });

  it('shows the Zipkin counters in /stats/prometheus', async () => {
    const stats = await waitFor('spans_sent', async () => {
      const text = (await admin(proxyA, '/stats/prometheus')).body;
      return (metric(text, 'envoy_tracing_zipkin_spans_sent') ?? 0) > 0 ? text : undefined;
    });
    expect(metric(stats, 'envoy_tracing_zipkin_reports_sent')).toBeGreaterThan(0);
    expect(metric(stats, 'envoy_tracing_zipkin_spans_dropped')).toBe(0);
    expect(zipkin.reports.every((r) => r.contentType === 'application/json')).toBe(true);
  });
});

describe('sampling and config changes', () => {
  it('at 0% reports nothing; x-client-trace-id still forces a trace; a bad tracing config is refused by field, the old one kept', async () => {
    const appAPort = (appA.address() as { port: number }).port;
    const inboundB = proxyB.ports.get('inbound')!;
    const before = await configDump(proxyA);
    const beforeB = await configDump(proxyB);
    replaceFile(proxyA.bootstrapPath, bootstrapYaml(sidecarA(appAPort, inboundB, zipkin.port, { sampling: 0 })));
    replaceFile(proxyB.bootstrapPath, bootstrapYaml(sidecarB(appB.port, zipkin.port, { sampling: 0 })));
    await waitFor('sidecar A on the 0% config', async () => {
      const d = await configDump(proxyA);
      return d.version > before.version && d.workers.every((w) => w.appliedVersion === d.version);
    });
    await waitFor('sidecar B on the 0% config', async () => {
      const d = await configDump(proxyB);
      return d.version > beforeB.version && d.workers.every((w) => w.appliedVersion === d.version);
    });

    const spansBefore = zipkin.spans.length;
    for (let i = 0; i < 20; i++) expect((await request(proxyA.ports.get('inbound')!, `/zero-${i}`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect(zipkin.spans.length).toBe(spansBefore);
    // Unsampled, the context still reaches app B (sampled 0), so the hops agree.
    expect(appB.seen.find((r) => r.url === '/zero-0')?.headers['x-b3-sampled']).toBe('0');

    expect((await request(proxyA.ports.get('inbound')!, '/forced', { headers: { 'x-client-trace-id': 'abc' } })).status).toBe(200);
    expectChain(await traceOf('/forced', 3));

    // A bad tracing config: refused, naming the field; the 0% config keeps serving (and forcing).
    const zero = await configDump(proxyA);
    replaceFile(proxyA.bootstrapPath, bootstrapYaml(sidecarA(appAPort, inboundB, zipkin.port, { sampling: 0, version: 'GRPC' })));
    const dump = await waitFor('the rejection', async () => {
      const d = await configDump(proxyA);
      return d.configRejectedTotal > zero.configRejectedTotal ? d : undefined;
    });
    expect(dump.version).toBe(zero.version);
    expect(dump.lastRejected?.problems.join('\n')).toContain('tracing.provider.typed_config.collector_endpoint_version');
    expect(dump.lastRejected?.problems.join('\n')).toContain('only HTTP_JSON');
    expect((await request(proxyA.ports.get('inbound')!, '/forced-again', { headers: { 'x-client-trace-id': 'def' } })).status).toBe(200);
    expectChain(await traceOf('/forced-again', 3));
  }, 60_000);
});

describe('a collector that is down', () => {
  it('leaves requests unaffected and counts the failed reports', async () => {
    const down = await closedPort();
    const up = await startUpstream();
    const proxy = await startProxy({
      bootstrap: { static_resources: { listeners: [listener('outbound', 'OUTBOUND', 'app', { sampling: 100 })], clusters: [staticCluster('app', up.port), staticCluster('zipkin', down)] } },
    });
    try {
      for (let round = 0; round < 10; round++) {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => request(proxy.port, `/r${round}-${i}`)));
        expect(results.every((r) => r.status === 200)).toBe(true);
      }
      const stats = await waitFor('a failed report', async () => {
        const text = (await admin(proxy, '/stats/prometheus')).body;
        return (metric(text, 'envoy_tracing_zipkin_reports_failed') ?? 0) > 0 ? text : undefined;
      });
      expect(metric(stats, 'envoy_tracing_zipkin_spans_sent')).toBe(0);
      expect((await request(proxy.port, '/after')).status).toBe(200);
    } finally {
      await proxy.stop('SIGKILL');
      await up.close();
    }
  }, 60_000);
});
