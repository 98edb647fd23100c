// envoy.filters.http.fault end to end: a proxy with 2 workers, real node:http
// upstreams, per-route faults in typed_per_filter_config. What a user sees:
// the share of aborted requests, the added latency of delayed ones, the gRPC
// abort's shape, header-controlled faults only where configured, the DI / FI
// flags in the access log and the envoy_http_fault_* stats.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metric, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { FAULT_FILTER, faultConfig, httpFilters, percent, withHttpFilters } from './http-filter-config.js';

let upstream: Upstream;
let proxy: RunningProxy;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function faultRoute(prefix: string, fault: Record<string, unknown> | null, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    match: { prefix },
    route: { cluster: 'backend', timeout: '5s', ...extra },
    ...(fault === null ? {} : { typed_per_filter_config: { [FAULT_FILTER]: faultConfig(fault) } }),
  };
}

beforeAll(async () => {
  upstream = await startUpstream();
  const routes = [
    faultRoute('/abort50', { abort: { http_status: 503, percentage: percent(50) } }),
    faultRoute('/delay50', { delay: { fixed_delay: '0.25s', percentage: percent(50) } }),
    faultRoute('/grpc', { abort: { grpc_status: 14, percentage: percent(100) } }),
    faultRoute('/fixed-only', { abort: { http_status: 418, percentage: percent(0) }, delay: { fixed_delay: '1s', percentage: percent(0) } }),
    faultRoute('/header-on', { abort: { header_abort: {}, percentage: percent(100) }, delay: { header_delay: {}, percentage: percent(100) } }),
    faultRoute('/matched', {
      abort: { http_status: 503, percentage: percent(100) },
      headers: [{ name: 'x-chaos', string_match: { exact: 'yes' } }],
    }),
    faultRoute('/hold', { delay: { fixed_delay: '2s', percentage: percent(100) } }),
    faultRoute('/delay-body', { delay: { fixed_delay: '0.1s', percentage: percent(100) } }),
    faultRoute('/delay-timeout', { delay: { fixed_delay: '0.1s', percentage: percent(100) } }, { prefix_rewrite: '/slow', timeout: '0.3s' }),
    faultRoute('/limited', { delay: { fixed_delay: '1s', percentage: percent(100) }, max_active_faults: 1 }),
    faultRoute('/header-capped', { delay: { header_delay: {}, percentage: percent(100) } }, { timeout: '0.5s' }),
    faultRoute('/', null), // the listener's own fault config: no delay, no abort
  ];
  const bootstrap = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['svc'], routes }] }, [{ name: 'backend', ports: [upstream.port] }]);
  proxy = await startProxy({
    bootstrap: withHttpFilters(bootstrap, httpFilters({ fault: faultConfig({}) })),
    workers: 2,
    accessLog: 'file',
  });
});

afterAll(async () => {
  agent.destroy();
  await proxy?.stop();
  await upstream?.close();
});

let seq = 0;
async function call(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; ms: number; rid: string }> {
  const rid = `fault-${++seq}`;
  const started = performance.now();
  const res = await request(proxy.port, path, { headers: { host: 'svc', 'x-request-id': rid, ...headers }, agent });
  return { status: res.status, headers: res.headers, body: res.body, ms: performance.now() - started, rid };
}

function accessLog(): Map<string, Record<string, unknown>> {
  const lines = readFileSync(join(proxy.dir, 'access.log'), 'utf8').split('\n').filter((l) => l.startsWith('{'));
  return new Map(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((e) => [String(e.request_id), e]));
}

async function accessLogHas(rids: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  for (let i = 0; i < 50; i++) {
    const log = accessLog();
    if (rids.every((r) => log.has(r))) return log;
    await new Promise((r) => setTimeout(r, 50));
  }
  return accessLog();
}

describe('fault abort', () => {
  it('aborts 50% of 2000 requests (over 8 connections) within tolerance, counted in envoy_http_fault_aborts_injected', async () => {
    const before = upstream.seen.length;
    let aborted = 0;
    let passed = 0;
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 250; i++) {
        const r = await call('/abort50');
        if (r.status === 503 && r.body === 'fault filter abort') aborted++;
        else if (r.status === 200) passed++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, loop));
    expect(aborted + passed).toBe(2000);
    // Binomial(2000, 0.5): sd ≈ 22; ±100 is 5% of 2000 (about 4.5 sd).
    expect(aborted).toBeGreaterThan(900);
    expect(aborted).toBeLessThan(1100);
    expect(upstream.seen.length - before).toBe(passed); // an aborted request never reaches the upstream
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metric(stats, 'envoy_http_fault_aborts_injected{envoy_http_conn_manager_prefix="outbound"}')).toBe(aborted);
    expect(metric(stats, 'envoy_http_fault_active_faults{envoy_http_conn_manager_prefix="outbound"}')).toBe(0);
  });

  it('answers a gRPC request in the trailers-only form with the configured grpc-status', async () => {
    const r = await call('/grpc', { 'content-type': 'application/grpc' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(r.headers['grpc-status']).toBe('14');
    expect(r.headers['grpc-message']).toBe('fault filter abort');
    expect(r.body).toBe('');
    expect((await accessLogHas([r.rid])).get(r.rid)!.response_flags).toBe('FI');
  });

  it('applies only to requests the fault`s headers matchers accept', async () => {
    expect((await call('/matched')).status).toBe(200);
    expect((await call('/matched', { 'x-chaos': 'no' })).status).toBe(200);
    expect((await call('/matched', { 'x-chaos': 'yes' })).status).toBe(503);
  });
});

describe('fault delay', () => {
  it('adds at least the fixed delay to the delayed share only, flagged DI', async () => {
    const results: Awaited<ReturnType<typeof call>>[] = [];
    for (let batch = 0; batch < 4; batch++) results.push(...(await Promise.all(Array.from({ length: 10 }, () => call('/delay50')))));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const log = await accessLogHas(results.map((r) => r.rid));
    const delayed = results.filter((r) => log.get(r.rid)!.response_flags === 'DI');
    const prompt = results.filter((r) => log.get(r.rid)!.response_flags === '-');
    expect(delayed.length + prompt.length).toBe(40);
    expect(delayed.length).toBeGreaterThan(6); // Binomial(40, 0.5): P(<= 6) < 1e-5
    expect(prompt.length).toBeGreaterThan(6);
    for (const r of delayed) expect(r.ms).toBeGreaterThanOrEqual(245);
    for (const r of prompt) expect(r.ms).toBeLessThan(200);
  });

  it('a client that leaves during the delay: the request never reaches the upstream, logged DC with DI', async () => {
    const before = upstream.seen.filter((s) => s.url === '/hold').length;
    const rid = 'fault-hold';
    await expect(
      request(proxy.port, '/hold', { headers: { host: 'svc', 'x-request-id': rid }, timeoutMs: 200 }),
    ).rejects.toThrow(/timed out/);
    const log = await accessLogHas([rid]);
    expect(log.get(rid)!.response_flags).toBe('DC,DI');
    await new Promise((r) => setTimeout(r, 2200)); // past the delay: nothing went upstream after all
    expect(upstream.seen.filter((s) => s.url === '/hold').length).toBe(before);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metric(stats, 'envoy_http_fault_active_faults{envoy_http_conn_manager_prefix="outbound"}')).toBe(0);
  });
});

describe('fault delay with a body and a route timeout', () => {
  it('holds the request body while delaying and then forwards all of it', async () => {
    const body = 'b'.repeat(64 * 1024);
    const started = performance.now();
    const res = await request(proxy.port, '/delay-body', { method: 'POST', body, headers: { host: 'svc' }, agent });
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(res.status).toBe(200);
    expect(upstream.seen.find((s) => s.url === '/delay-body')?.body).toBe(body);
  });

  it('still times out on the route timeout, which (as in Envoy) starts after the delay', async () => {
    const r = await call('/delay-timeout?ms=1000');
    expect(r.status).toBe(504);
    expect(r.ms).toBeGreaterThanOrEqual(390); // 0.1 s delay, then the 0.3 s route timeout
    expect(r.ms).toBeLessThan(900);
    expect((await accessLogHas([r.rid])).get(r.rid)!.response_flags).toBe('UT,DI');
  });
});

describe('header-controlled faults', () => {
  it('are ignored where header_abort / header_delay are not configured', async () => {
    const headers = { 'x-envoy-fault-abort-request': '500', 'x-envoy-fault-delay-request': '500' };
    for (const path of ['/fixed-only', '/plain']) {
      const r = await call(path, headers);
      expect(r.status).toBe(200);
      expect(r.ms).toBeLessThan(400);
    }
  });

  it('take the status and the delay from the request where configured', async () => {
    const aborted = await call('/header-on', { 'x-envoy-fault-abort-request': '429' });
    expect(aborted.status).toBe(429);
    const grpc = await call('/header-on', { 'x-envoy-fault-abort-grpc-request': '7', 'content-type': 'application/grpc' });
    expect([grpc.status, grpc.headers['grpc-status']]).toEqual([200, '7']);
    const delayed = await call('/header-on', { 'x-envoy-fault-delay-request': '150' });
    expect(delayed.status).toBe(200);
    expect(delayed.ms).toBeGreaterThanOrEqual(145);
    const none = await call('/header-on');
    expect(none.status).toBe(200);
    const log = await accessLogHas([aborted.rid, delayed.rid, none.rid]);
    expect([aborted, delayed, none].map((r) => log.get(r.rid)!.response_flags)).toEqual(['FI', 'DI', '-']);
  });
});

describe('fault limits', () => {
  it('caps a client-set x-envoy-fault-delay-request at the route timeout', async () => {
    // 2,000,000 ms asked for (33 minutes) on a route whose timeout is 0.5 s.
    const r = await call('/header-capped', { 'x-envoy-fault-delay-request': '2000000' });
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(450);
    expect(r.ms).toBeLessThan(2000);
    expect((await accessLogHas([r.rid])).get(r.rid)!.response_flags).toBe('DI');
  });

  it('counts max_active_faults per proxy: with 2 workers and max 1, one of 16 concurrent requests is delayed', async () => {
    const stats = async (): Promise<string> => (await admin(proxy, '/stats/prometheus')).body;
    const overflowBefore = metric(await stats(), 'envoy_http_fault_faults_overflow{envoy_http_conn_manager_prefix="outbound"}') ?? 0;
    // A new connection per request: the kernel spreads them over both workers' listening sockets.
    const fresh = new http.Agent({ keepAlive: false });
    try {
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 16 }, async () => {
        const res = await request(proxy.port, '/limited', { headers: { host: 'svc' }, agent: fresh });
        return { status: res.status, ms: performance.now() - started };
      }));
      expect(results.every((r) => r.status === 200)).toBe(true);
      const delayed = results.filter((r) => r.ms >= 950);
      expect(delayed.length).toBe(1);
    } finally {
      fresh.destroy();
    }
    const after = await stats();
    expect((metric(after, 'envoy_http_fault_faults_overflow{envoy_http_conn_manager_prefix="outbound"}') ?? 0) - overflowBefore).toBe(15);
    expect(metric(after, 'envoy_http_fault_active_faults{envoy_http_conn_manager_prefix="outbound"}')).toBe(0);
  });
});
