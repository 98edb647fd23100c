// isthmus.filters.http.mixer end to end: proxies with 2 workers (and one with
// --workers 1) in front of a real node:http upstream, checking with a real
// gRPC Mixer server (test/support/mixer-test-server.ts) that counts Checks.
// What a user sees: answers served from the check cache shared by both
// workers and kept across a worker restart, valid_use_count and
// valid_duration forcing new Checks, identical concurrent misses making one
// RPC, denials as Istio's filter answered them, fail-open / fail-close when
// the server is slow or away, Report batches arriving without delaying
// requests and dropped with a counter when the server refuses them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metric, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { withHttpFilters } from './http-filter-config.js';
import { startMixerServer, type DecodedCheck, type MixerTestServer } from '../support/mixer-test-server.js';

const MIXER_TYPE = 'type.googleapis.com/isthmus.mixer.v1.config.client.HttpClientConfig';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

let upstream: Upstream;
let server: MixerTestServer;
let proxy: RunningProxy;

function mixerFilter(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'isthmus.filters.http.mixer',
    typed_config: {
      '@type': MIXER_TYPE,
      mixer_attributes: { attributes: { 'destination.service.host': { string_value: 'backend.default.svc.cluster.local' }, 'context.reporter.kind': { string_value: 'inbound' } } },
      check_attributes: ['request.headers', 'request.path', 'source.ip'],
      report_attributes: ['request.path', 'response.code', 'response.duration'],
      report_batch_max_entries: 5,
      report_batch_max_time: '0.200s',
      ...fields,
    },
  };
}

function policyBootstrap(mixerPort: number, filter: Record<string, unknown>): Record<string, unknown> {
  const routes = [{ match: { prefix: '/' }, route: { cluster: 'backend', timeout: '10s' } }];
  const b = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes }] }, [{ name: 'backend', ports: [upstream.port] }, { name: 'mixer', ports: [mixerPort] }]);
  return withHttpFilters(b, [filter, ROUTER]);
}

const checksFor = (user: string): DecodedCheck[] => server.checks.filter((c) => (c.attributes['request.headers'] as { string_map_value?: { entries?: Record<string, string> } } | undefined)?.string_map_value?.entries?.['x-user'] === user);

/** One request on its own connection (the kernel spreads them over both workers). */
function call(p: RunningProxy, user: string, path = '/'): Promise<{ status: number; body: string }> {
  return request(p.port, path, { headers: { 'x-user': user } });
}

async function stat(p: RunningProxy, name: string): Promise<number> {
  return metric((await admin(p, '/stats/prometheus')).body, name) ?? 0;
}

beforeAll(async () => {
  upstream = await startUpstream();
  server = await startMixerServer();
  proxy = await startProxy({
    bootstrap: policyBootstrap(server.port, mixerFilter({ transport: { check_cluster: 'mixer', check_timeout: '2s' } })),
    workers: 2,
    args: ['--enable-debug-endpoints'],
  });
});

afterAll(async () => {
  await proxy?.stop();
  await server?.close();
  await upstream?.close();
});

describe('the check cache', () => {
  it('serves a repeated request pattern from the cache across both workers: one Check for 30 requests', async () => {
    for (let i = 0; i < 30; i++) expect((await call(proxy, 'alice', `/a/${i}`)).status).toBe(200);
    expect(checksFor('alice')).toHaveLength(1);
    // The Check carried the check attributes and the static ones.
    const attrs = checksFor('alice')[0]!.attributes;
    expect(attrs['request.path']).toEqual({ string_value: '/a/0', value: 'string_value' });
    expect(attrs['destination.service.host']?.string_value).toBe('backend.default.svc.cluster.local');
    expect(attrs['source.ip']?.string_value).toBe('127.0.0.1');
    expect(await stat(proxy, 'isthmus_mixer_check_cache_hits_total')).toBeGreaterThanOrEqual(29);
    expect(await stat(proxy, 'isthmus_mixer_check_rpcs_total')).toBeGreaterThanOrEqual(1);
  });

  it('denies as Istio did (403 PERMISSION_DENIED:<message>), again from the cache', async () => {
    server.behaviour.denyUser = 'mallory';
    const first = await call(proxy, 'mallory');
    expect(first.status).toBe(403);
    expect(first.body).toBe('PERMISSION_DENIED:user mallory is denied');
    for (let i = 0; i < 5; i++) expect((await call(proxy, 'mallory')).status).toBe(403);
    expect(checksFor('mallory')).toHaveLength(1);
    expect((await call(proxy, 'alice')).status).toBe(200);
    server.behaviour.denyUser = null;
  });

  it('keeps its answers across a restart of both workers (they live in LMDB)', async () => {
    expect((await call(proxy, 'ivan')).status).toBe(200);
    expect(checksFor('ivan')).toHaveLength(1);
    for (const id of [0, 1]) expect((await admin(proxy, `/debug/crash_worker?id=${id}`, 'POST')).status).toBe(200);
    await waitFor('both workers restarted', async () => {
      const dump = JSON.parse((await admin(proxy, '/debug/config_dump')).body) as { workers: { state: string; restarts: number }[] };
      return dump.workers.every((w) => w.state === 'running' && w.restarts >= 1);
    }, 15_000);
    for (let i = 0; i < 6; i++) expect((await call(proxy, 'ivan')).status).toBe(200);
    expect(checksFor('ivan')).toHaveLength(1);
  });

  it('asks again when valid_use_count is spent (shared by both workers)', async () => {
    server.behaviour.validUseCount = 3;
    for (let i = 0; i < 7; i++) expect((await call(proxy, 'bob')).status).toBe(200);
    // Uses 1-3, 4-6, 7: never more than 3 requests per answer.
    expect(checksFor('bob')).toHaveLength(3);
    server.behaviour.validUseCount = 10_000;
  });

  it('asks again once valid_duration has passed', async () => {
    server.behaviour.validDurationMs = 400;
    expect((await call(proxy, 'carol')).status).toBe(200);
    expect((await call(proxy, 'carol')).status).toBe(200);
    expect(checksFor('carol')).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 600));
    expect((await call(proxy, 'carol')).status).toBe(200);
    expect(checksFor('carol')).toHaveLength(2);
    server.behaviour.validDurationMs = 60_000;
  });

  it('makes concurrent identical misses one RPC, across workers', async () => {
    server.behaviour.delayMs = 250;
    const joinedBefore = await stat(proxy, 'isthmus_mixer_check_rpcs_joined_total');
    const results = await Promise.all(Array.from({ length: 12 }, () => call(proxy, 'dave')));
    server.behaviour.delayMs = 0;
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(checksFor('dave')).toHaveLength(1);
    expect(await stat(proxy, 'isthmus_mixer_check_rpcs_joined_total') - joinedBefore).toBe(11);
  });
});

describe('quota', () => {
  const quotaFilter = (): Record<string, unknown> => mixerFilter({ transport: { check_cluster: 'mixer' }, quotas: [{ quota: 'requestcount.quota.istio-system', charge: 1 }] });

  it('prefetches an allocation yet never grants more than the server did: quota 3 lets 3 through, the 4th gets 429, then it recovers', { timeout: 30_000 }, async () => {
    const quotaProxy = await startProxy({ bootstrap: policyBootstrap(server.port, quotaFilter()), workers: 2 });
    server.behaviour.quotaLeft = 3;
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push(await call(quotaProxy, 'quinn'));
      expect(statuses.map((r) => r.status)).toEqual([200, 200, 200, 429, 429]);
      expect(statuses[3]!.body).toMatch(/^RESOURCE_EXHAUSTED:/);
      const asked = checksFor('quinn');
      // Asked ahead (more than the charge, best effort), so fewer Checks than requests.
      expect(asked.length).toBeLessThan(5);
      expect(Object.keys(asked[0]!.quotas)).toEqual(['requestcount.quota.istio-system']);
      expect(Number(asked[0]!.quotas['requestcount.quota.istio-system']!.amount)).toBeGreaterThan(1);
      expect(await stat(quotaProxy, 'isthmus_mixer_quota_exhausted_total')).toBe(2);
      // The refusal holds for the answer's valid_duration (1 s); then a new grant serves again.
      server.behaviour.quotaLeft = null;
      await waitFor('quota to recover', async () => (await call(quotaProxy, 'quinn')).status === 200, 8000);
    } finally {
      server.behaviour.quotaLeft = null;
      await quotaProxy.stop();
    }
  });

  it('serves 20 requests under a large quota with far fewer Check RPCs than requests', { timeout: 30_000 }, async () => {
    const quotaProxy = await startProxy({ bootstrap: policyBootstrap(server.port, quotaFilter()), workers: 2 });
    try {
      for (let i = 0; i < 20; i++) expect((await call(quotaProxy, 'rita')).status).toBe(200);
      expect(checksFor('rita').length).toBeLessThanOrEqual(6);
      expect(await stat(quotaProxy, 'isthmus_mixer_quota_calls_total')).toBe(20);
    } finally {
      await quotaProxy.stop();
    }
  });
});

describe('when the policy server is slow or away', () => {
  it('lets a request through after check_timeout when the server is slow (FAIL_OPEN, the default)', { timeout: 20_000 }, async () => {
    server.behaviour.delayMs = 8000;
    const before = await stat(proxy, 'isthmus_mixer_fail_open_total');
    const started = Date.now();
    const res = await call(proxy, 'erin');
    const took = Date.now() - started;
    server.behaviour.delayMs = 0;
    expect(res.status).toBe(200);
    // check_timeout is 2s: the answer comes well before the server's 8s.
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(7000);
    expect(await stat(proxy, 'isthmus_mixer_fail_open_total')).toBe(before + 1);
  });

  it('FAIL_OPEN passes and FAIL_CLOSE answers 503 UNAVAILABLE when nothing listens (with --workers 1 too)', { timeout: 30_000 }, async () => {
    const down = await startMixerServer();
    const deadPort = down.port;
    await down.close();
    const open = await startProxy({ bootstrap: policyBootstrap(deadPort, mixerFilter({ transport: { check_cluster: 'mixer', check_timeout: '0.200s' } })), workers: 1 });
    const closed = await startProxy({
      bootstrap: policyBootstrap(deadPort, mixerFilter({
        transport: { check_cluster: 'mixer', check_timeout: '0.200s', network_fail_policy: { policy: 'FAIL_CLOSE', max_retry: 2, base_retry_wait: '0.020s', max_retry_wait: '0.050s' } },
      })),
      workers: 2,
    });
    try {
      expect((await call(open, 'frank')).status).toBe(200);
      const refused = await call(closed, 'frank');
      expect(refused.status).toBe(503);
      expect(refused.body).toMatch(/^UNAVAILABLE:/);
      expect(await stat(open, 'isthmus_mixer_fail_open_total')).toBe(1);
      expect(await stat(closed, 'isthmus_mixer_fail_closed_total')).toBe(1);
      expect(await stat(closed, 'isthmus_mixer_check_rpc_retries_total')).toBe(2);
      // Report batches to an absent server are dropped and counted; requests go on.
      for (let i = 0; i < 6; i++) expect((await call(open, 'frank')).status).toBe(200);
      await waitFor('a dropped report batch', async () => (await stat(open, 'isthmus_mixer_report_batches_dropped_total')) >= 1, 10_000);
    } finally {
      await open.stop();
      await closed.stop();
    }
  });
});

describe('Report', () => {
  it('delivers batches of finished requests with their report attributes', async () => {
    for (let i = 0; i < 7; i++) expect((await call(proxy, 'gina', `/r/${i}`)).status).toBe(200);
    await waitFor('7 report entries', () => server.reports.flat().filter((a) => String(a['request.path']?.string_value).startsWith('/r/')).length === 7, 10_000);
    const entry = server.reports.flat().find((a) => a['request.path']?.string_value === '/r/3')!;
    expect(Number(entry['response.code']?.int64_value)).toBe(200);
    expect(entry['context.reporter.kind']?.string_value).toBe('inbound');
    expect(entry['response.duration']?.duration_value).toBeDefined();
    expect(await stat(proxy, 'isthmus_mixer_report_batches_sent_total')).toBeGreaterThanOrEqual(2);
  });

  it('drops batches a server refuses or is too slow for, with a counter, and never delays requests', async () => {
    server.behaviour.refuseReports = true;
    server.behaviour.reportDelayMs = 2000;
    const before = await stat(proxy, 'isthmus_mixer_report_batches_dropped_total');
    const started = Date.now();
    for (let i = 0; i < 60; i++) expect((await call(proxy, 'hank', `/h/${i}`)).status).toBe(200);
    const took = Date.now() - started;
    expect(took).toBeLessThan(10_000);
    await waitFor('a dropped report batch', async () => (await stat(proxy, 'isthmus_mixer_report_batches_dropped_total')) > before, 10_000);
    server.behaviour.refuseReports = false;
    server.behaviour.reportDelayMs = 0;
  });
});
