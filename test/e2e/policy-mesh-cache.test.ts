// The check cache that every worker of a sidecar shares (issue 14, "Check
// cache in the proxy"), against the real control plane: `isthmus control`
// answers the Checks, and reviews' sidecar runs 2 workers. Each request goes
// to the sidecar's inbound listener on a connection of its own, so the kernel
// spreads them over both workers (SO_REUSEPORT; 2^-39 that 40 land on one).
// The control plane's Check counter then says what was shared: one Check for
// a repeated pattern, and valid_use_count spent by both workers together.
// A cache per worker would ask once per worker.
import { afterEach, describe, expect, it } from 'vitest';
import { metric } from './harness.js';
import { mixerDoc } from '../support/mixer-config.js';
import { startPolicyMesh, type PolicyMesh } from '../support/policy-mesh.js';

/** Denies x-user: beta, the answer reusable for `uses` requests within 60 s; everyone else passes (10000 uses). */
function denyBeta(uses: number): string {
  return [
    mixerDoc('handler', 'deny-beta', `compiledAdapter: denier\nparams:\n  status: { code: 7, message: beta users are not allowed }\n  validDuration: 60s\n  validUseCount: ${uses}`),
    mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
    mixerDoc('rule', 'deny-beta', 'match: request.headers["x-user"] == "beta"\nactions:\n- handler: deny-beta\n  instances: [nothing]'),
  ].join('---\n');
}

let mesh: PolicyMesh | null = null;

afterEach(async () => {
  await mesh?.stop();
  mesh = null;
});

const CHECKS = 'isthmus_mixer_checks_total';
/** A Check slower than the default 500 ms on a loaded machine would fail open and leave nothing in the cache. */
const PATIENT = ['--policy-check-timeout', '5s'];

describe('the check cache shared by both workers, against the control plane', { timeout: 90_000 }, () => {
  it('a repeated pattern over 40 connections (both workers) costs the control plane exactly one Check per answer', async () => {
    mesh = await startPolicyMesh({ files: { 'policy.yaml': denyBeta(10_000) }, controlArgs: PATIENT });
    const m = mesh;
    const statsBefore = await m.serverStats();
    const hitsBefore = metric(statsBefore, 'isthmus_mixer_check_cache_hits_total') ?? 0;
    const before = await m.controlMetric(CHECKS, 'service="mixer"');
    for (let i = 0; i < 40; i++) expect((await m.inbound(`/page/${i}`, { 'x-user': 'alpha' })).status).toBe(200);
    expect(await m.controlMetric(CHECKS, 'service="mixer"') - before).toBe(1);
    for (let i = 0; i < 40; i++) {
      const denied = await m.inbound(`/page/${i}`, { 'x-user': 'beta' });
      expect(denied.status).toBe(403);
      expect(denied.body).toBe('PERMISSION_DENIED:beta users are not allowed');
    }
    expect(await m.controlMetric(CHECKS, 'service="mixer"') - before).toBe(2);
    const stats = await m.serverStats();
    const grew = (name: string): number => (metric(stats, name) ?? 0) - (metric(statsBefore, name) ?? 0);
    // What an operator reads on the sidecar's /stats/prometheus: hits, misses (hit ratio 78/80) and the Check RPCs' latency.
    expect(grew('isthmus_mixer_check_cache_hits_total')).toBe(78);
    expect(grew('isthmus_mixer_check_cache_misses_total')).toBe(2);
    expect(grew('isthmus_mixer_check_rpcs_total')).toBe(2);
    const h = 'isthmus_mixer_check_rpc_duration_milliseconds';
    expect(grew(`${h}_count`)).toBe(2);
    expect(grew(`${h}_bucket{le="+Inf"}`)).toBe(2);
    expect(grew(`${h}_sum`)).toBeGreaterThan(0);
    // Cumulative buckets: never decreasing, the last finite one at most the count.
    const buckets = [...stats.matchAll(new RegExp(`^${h}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((b) => [b[1], Number(b[2])] as const);
    expect(buckets.map(([le]) => le)).toEqual(['0.5', '1', '2', '5', '10', '25', '50', '100', '250', '500', '1000', '+Inf']);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
    expect(buckets.at(-1)![1]).toBe(metric(stats, `${h}_count`));
  });

  it('valid_use_count 12 is spent by both workers together: after request i, ceil(i / 12) Checks (the next one at most one request early)', async () => {
    const N = 12;
    mesh = await startPolicyMesh({ files: { 'policy.yaml': denyBeta(N) }, controlArgs: PATIENT });
    const m = mesh;
    const before = await m.controlMetric(CHECKS, 'service="mixer"');
    const wrong: string[] = [];
    for (let i = 1; i <= 3 * N; i++) {
      expect((await m.inbound('/', { 'x-user': 'beta' })).status).toBe(403);
      const checks = await m.controlMetric(CHECKS, 'service="mixer"') - before;
      // Never late: no answer serves more than N requests. Shared: a worker leases its uses from the entry in LMDB
      // one at a time, the next ahead of need, so the other worker may hold one unspent use when the entry runs out
      // (check-cache.ts): the next Check may come one request early, never more. A cache per worker asks again
      // once per worker: 2 Checks within the first N - 1 requests.
      const low = Math.ceil(i / N);
      const high = Math.ceil((i + 1) / N);
      if (checks < low || checks > high) wrong.push(`after request ${i}: ${checks} Checks, not ${low === high ? low : `${low}-${high}`}`);
    }
    expect(wrong).toEqual([]);
  });
});
