// envoy.filters.http.local_ratelimit end to end: a proxy with 2 workers and a
// real node:http upstream. What a user sees: one token bucket per proxy (the
// two workers together let max_tokens through), refill after fill_interval,
// shadow mode (filter_enforced 0%: counted, not enforced), per-route buckets
// in typed_per_filter_config, the 429 with its body, headers and RL flag, the
// x-ratelimit-* headers, and the <stat_prefix>.http_local_rate_limit.* stats.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metric, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { percent, withHttpFilters } from './http-filter-config.js';

const RL_FILTER = 'envoy.filters.http.local_ratelimit';
const RL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

let upstream: Upstream;
let proxy: RunningProxy;

/** A LocalRateLimit as Envoy's docs write it (enabled and enforced for every request unless told otherwise). */
function rateLimit(statPrefix: string, bucket: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@type': RL_TYPE,
    stat_prefix: statPrefix,
    token_bucket: bucket,
    filter_enabled: { runtime_key: 'local_rate_limit_enabled', default_value: percent(100) },
    filter_enforced: { runtime_key: 'local_rate_limit_enforced', default_value: percent(100) },
    ...extra,
  };
}

function route(prefix: string, perRoute: Record<string, unknown> | null, action: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    match: { prefix },
    route: { cluster: 'backend', timeout: '5s', ...action },
    ...(perRoute === null ? {} : { typed_per_filter_config: { [RL_FILTER]: perRoute } }),
  };
}

beforeAll(async () => {
  upstream = await startUpstream();
  const routes = [
    route('/refill', rateLimit('refill_rl', { max_tokens: 2, tokens_per_fill: 2, fill_interval: '1s' })),
    route('/shadow', rateLimit('shadow_rl', { max_tokens: 1, fill_interval: '3600s' }, {
      filter_enforced: { default_value: percent(0) },
      request_headers_to_add_when_not_enforced: [{ header: { key: 'x-local-rate-limited', value: 'shadow' } }],
    })),
    route('/own', rateLimit('own_rl', { max_tokens: 3, fill_interval: '3600s' }, { status: { code: 503 } })),
    route('/desc', rateLimit('desc_rl', { max_tokens: 100, fill_interval: '3600s' }, {
      descriptors: [{ entries: [{ key: 'client', value: 'alpha' }], token_bucket: { max_tokens: 1, fill_interval: '3600s' } }],
    }), { rate_limits: [{ actions: [{ request_headers: { header_name: 'x-client', descriptor_key: 'client' } }] }] }),
    route('/generic', rateLimit('generic_rl', { max_tokens: 100, fill_interval: '3600s' }, {
      descriptors: [{ entries: [{ key: 'generic_key', value: 'slow' }], token_bucket: { max_tokens: 2, fill_interval: '3600s' } }],
    }), { rate_limits: [{ actions: [{ generic_key: { descriptor_value: 'slow' } }] }] }),
    route('/off', rateLimit('off_rl', { max_tokens: 1, fill_interval: '3600s' }, { filter_enabled: { default_value: percent(0) } })),
    route('/', null), // the listener's bucket
  ];
  const listenerLimit = rateLimit('http_local_rate_limiter', { max_tokens: 10, tokens_per_fill: 10, fill_interval: '3600s' }, {
    response_headers_to_add: [{ append_action: 'OVERWRITE_IF_EXISTS_OR_ADD', header: { key: 'x-local-rate-limit', value: 'true' } }],
    enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
  });
  const bootstrap = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes }] }, [{ name: 'backend', ports: [upstream.port] }]);
  proxy = await startProxy({
    bootstrap: withHttpFilters(bootstrap, [
      { name: RL_FILTER, typed_config: listenerLimit },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ]),
    workers: 2,
    accessLog: 'file',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

let seq = 0;
/** One request on its own connection (so the kernel spreads them over both workers). */
async function call(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Record<string, unknown>; rid: string }> {
  const rid = `rl-${++seq}`;
  const res = await request(proxy.port, path, { headers: { 'x-request-id': rid, ...headers } });
  return { status: res.status, body: res.body, headers: res.headers, rid };
}

async function calls(path: string, n: number): Promise<Awaited<ReturnType<typeof call>>[]> {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await call(path));
  return out;
}

async function accessLogFlags(rids: readonly string[]): Promise<Map<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const lines = readFileSync(join(proxy.dir, 'access.log'), 'utf8').split('\n').filter((l) => l.startsWith('{'));
    const log = new Map(lines.map((l) => JSON.parse(l) as Record<string, unknown>).map((e) => [String(e.request_id), e.response_flags]));
    if (rids.every((r) => log.has(r))) return log;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('access log lines missing');
}

describe('local rate limit', () => {
  it('lets max_tokens requests through across both workers combined, then answers 429 local_rate_limited with RL', async () => {
    const results = await calls('/shared', 16);
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    const limited = results.filter((r) => r.status === 429);
    expect(limited).toHaveLength(6);
    // Tokens are taken in order: the first ten pass.
    expect(results.slice(0, 10).every((r) => r.status === 200)).toBe(true);
    expect(limited[0]!.body).toBe('local_rate_limited');
    expect(limited[0]!.headers['x-local-rate-limit']).toBe('true');
    expect(limited[0]!.headers['x-ratelimit-limit']).toBe('10');
    expect(limited[0]!.headers['x-ratelimit-remaining']).toBe('0');
    expect(Number(limited[0]!.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers['x-ratelimit-reset'])).toBeLessThanOrEqual(3600);
    expect(results[0]!.headers['x-ratelimit-remaining']).toBe('9');
    expect(results[0]!.headers['x-local-rate-limit']).toBeUndefined(); // only on the filter's own reply
    const flags = await accessLogFlags(results.map((r) => r.rid));
    expect(limited.every((r) => flags.get(r.rid) === 'RL')).toBe(true);
    expect(flags.get(results[0]!.rid)).toBe('-');
    // Both workers served some of these connections, so the limit held across threads.
    const prom = (await admin(proxy, '/stats/prometheus')).body;
    expect(metric(prom, 'isthmus_worker_downstream_cx_total{worker="0"}')).toBeGreaterThan(0);
    expect(metric(prom, 'isthmus_worker_downstream_cx_total{worker="1"}')).toBeGreaterThan(0);
  });

  it('refills tokens_per_fill after fill_interval', async () => {
    // Fill periods run on the clock, so a burst may straddle a refill: send until the first 429.
    let first = await call('/refill');
    for (let i = 0; i < 8 && first.status === 200; i++) first = await call('/refill');
    expect(first.status).toBe(429);
    await new Promise((r) => setTimeout(r, 1300));
    const second = await calls('/refill', 2);
    expect(second.map((r) => r.status)).toEqual([200, 200]);
  });

  it('counts but does not enforce with filter_enforced 0% (shadow mode), marking the request upstream', async () => {
    const results = await calls('/shadow', 4);
    expect(results.every((r) => r.status === 200)).toBe(true);
    // The requests over the limit reach the upstream marked by request_headers_to_add_when_not_enforced.
    const marked = results.map((r) => upstream.seen.find((s) => s.headers['x-request-id'] === r.rid)!.headers['x-local-rate-limited']);
    expect(marked).toEqual([undefined, 'shadow', 'shadow', 'shadow']);
    const prom = (await admin(proxy, '/stats/prometheus')).body;
    expect(metric(prom, 'envoy_shadow_rl_http_local_rate_limit_enabled')).toBe(4);
    expect(metric(prom, 'envoy_shadow_rl_http_local_rate_limit_ok')).toBe(1);
    expect(metric(prom, 'envoy_shadow_rl_http_local_rate_limit_rate_limited')).toBe(3);
    expect(metric(prom, 'envoy_shadow_rl_http_local_rate_limit_enforced')).toBe(0);
  });

  it('gives a route with typed_per_filter_config its own bucket, status and stat prefix', async () => {
    const results = await calls('/own', 5);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 503, 503]);
    expect(results[3]!.body).toBe('local_rate_limited');
    expect(results[0]!.headers['x-ratelimit-limit']).toBeUndefined(); // the route's config did not ask for them
    const off = await calls('/off', 3);
    expect(off.every((r) => r.status === 200)).toBe(true);
    const stats = (await admin(proxy, '/stats?filter=http_local_rate_limit')).body;
    expect(stats).toContain('own_rl.http_local_rate_limit.enforced: 2');
    expect(stats).toContain('own_rl.http_local_rate_limit.ok: 3');
    expect(stats).toContain('http_local_rate_limiter.http_local_rate_limit.enabled: 16');
    expect(stats).toContain('http_local_rate_limiter.http_local_rate_limit.rate_limited: 6');
    expect(stats).toContain('off_rl.http_local_rate_limit.enabled: 0'); // filter_enabled 0%: never consulted
  });

  it('matches route rate_limits descriptors (request_headers, generic_key) to their own buckets', async () => {
    const alpha = [await call('/desc', { 'x-client': 'alpha' }), await call('/desc', { 'x-client': 'alpha' })];
    expect(alpha.map((r) => r.status)).toEqual([200, 429]);
    // Another value matches no descriptor, and no header makes no descriptor: the default bucket (100) lets them through.
    expect((await call('/desc', { 'x-client': 'beta' })).status).toBe(200);
    expect((await call('/desc')).status).toBe(200);
    expect((await calls('/generic', 3)).map((r) => r.status)).toEqual([200, 200, 429]);
  });
});

describe('local rate limit with --workers 1 (the data plane on the main thread)', () => {
  it('limits and counts the same way', async () => {
    const bootstrap = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes: [route('/', null)] }] }, [{ name: 'backend', ports: [upstream.port] }]);
    const one = await startProxy({
      bootstrap: withHttpFilters(bootstrap, [
        { name: RL_FILTER, typed_config: rateLimit('one_thread', { max_tokens: 3, fill_interval: '3600s' }) },
        { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
      ]),
      workers: 1,
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await request(one.port, '/x')).status);
      expect(statuses).toEqual([200, 200, 200, 429, 429]);
      const stats = (await admin(one, '/stats?filter=one_thread')).body;
      expect(stats).toContain('one_thread.http_local_rate_limit.ok: 3');
      expect(stats).toContain('one_thread.http_local_rate_limit.enforced: 2');
      // The runtime keys of filter_enabled / filter_enforced are named in a warning: only default_value applies.
      const warning = one.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('runtime keys ignored'));
      expect(warning?.msg).toContain('local_rate_limit_enabled, local_rate_limit_enforced');
    } finally {
      await one.stop();
    }
  });
});
