// Circuit breakers and the retry budget, enforced across both workers
// together: overflow is a 503 with response flag UO, counted per cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapWith, metric, metricSum, request, startProxy, startUpstream, type RunningProxy, type Upstream, type UpstreamHandler,
} from './harness.js';

/** An upstream that answers after `delayMs` with `status`, and tracks how many requests / connections it held at once. */
interface Tracked {
  upstream: Upstream;
  maxConcurrent: number;
  maxConnections: number;
}

async function tracked(delayMs: number, status: number): Promise<Tracked> {
  const t: Tracked = { upstream: undefined as unknown as Upstream, maxConcurrent: 0, maxConnections: 0 };
  let inFlight = 0;
  const handler: UpstreamHandler = (_req, res) => {
    inFlight++;
    t.maxConcurrent = Math.max(t.maxConcurrent, inFlight);
    setTimeout(() => {
      inFlight--;
      res.statusCode = status;
      res.end(status === 200 ? 'ok' : 'down');
    }, delayMs);
  };
  t.upstream = await startUpstream(handler);
  let open = 0;
  t.upstream.server.on('connection', (socket) => {
    open++;
    t.maxConnections = Math.max(t.maxConnections, open);
    socket.on('close', () => open--);
  });
  return t;
}

let slow: Tracked;
let pooled: Tracked;
let budgeted: Tracked;
let unbudgeted: Tracked;
let proxy: RunningProxy;

beforeAll(async () => {
  slow = await tracked(200, 200);
  pooled = await tracked(100, 200);
  budgeted = await tracked(20, 503);
  unbudgeted = await tracked(20, 503);
  const retry = { retry_on: '5xx', num_retries: 3, retry_back_off: { base_interval: '0.002s', max_interval: '0.005s' } };
  const bootstrap = bootstrapWith(
    {
      virtual_hosts: [{
        name: 'all',
        domains: ['*'],
        routes: [
          { match: { prefix: '/slow' }, route: { cluster: 'slow' } },
          { match: { prefix: '/pooled' }, route: { cluster: 'pooled' } },
          { match: { prefix: '/budgeted' }, route: { cluster: 'budgeted', retry_policy: retry } },
          { match: { prefix: '/unbudgeted' }, route: { cluster: 'unbudgeted', retry_policy: retry } },
        ],
      }],
    },
    [
      { name: 'slow', ports: [slow.upstream.port] },
      { name: 'pooled', ports: [pooled.upstream.port] },
      { name: 'budgeted', ports: [budgeted.upstream.port] },
      { name: 'unbudgeted', ports: [unbudgeted.upstream.port] },
    ],
  ) as { static_resources: { clusters: Record<string, unknown>[] } };
  const [slowC, pooledC, budgetedC, unbudgetedC] = bootstrap.static_resources.clusters;
  slowC!.circuit_breakers = { thresholds: [{ max_requests: 4 }] };
  pooledC!.circuit_breakers = { thresholds: [{ max_connections: 2, max_pending_requests: 6 }] };
  budgetedC!.circuit_breakers = { thresholds: [{ retry_budget: { budget_percent: { value: 20 }, min_retry_concurrency: 1 } }] };
  unbudgetedC!.circuit_breakers = { thresholds: [{ max_retries: 1000 }] };
  proxy = await startProxy({ bootstrap, workers: 2, accessLog: 'file' });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([slow, pooled, budgeted, unbudgeted].map((t) => t?.upstream.close()));
});

async function stats(): Promise<string> {
  return (await admin(proxy, '/stats/prometheus')).body;
}

describe('circuit breakers', () => {
  it('max_requests overflow is a 503 UO under concurrency from both workers, and the upstream never sees more than the limit', async () => {
    const before = await stats();
    // 40 at once, each on its own connection: both workers take some.
    const results = await Promise.all(Array.from({ length: 40 }, () => request(proxy.port, '/slow')));
    const overflowed = results.filter((r) => r.status === 503);
    const ok = results.filter((r) => r.status === 200);
    expect(overflowed.length + ok.length).toBe(40);
    expect(ok.length).toBeGreaterThanOrEqual(4);
    expect(overflowed.length).toBeGreaterThanOrEqual(20);
    expect(overflowed[0]!.body).toBe('upstream connect error or disconnect/reset before headers. reset reason: overflow');
    expect(slow.maxConcurrent).toBeLessThanOrEqual(4);

    const after = await stats();
    expect(metric(after, 'envoy_cluster_upstream_rq_pending_overflow{cluster_name="slow"}')).toBe(overflowed.length);
    expect(metricSum(after, 'istio_requests_total', 'response_code="503"', 'response_flags="UO"')).toBe(overflowed.length);
    const served = [0, 1].map((w) => (metric(after, `isthmus_worker_downstream_cx_total{worker="${w}"}`) ?? 0) - (metric(before, `isthmus_worker_downstream_cx_total{worker="${w}"}`) ?? 0));
    expect(served[0]! > 0 && served[1]! > 0).toBe(true);
    expect(metric(after, 'envoy_cluster_circuit_breakers_default_rq_open{cluster_name="slow"}')).toBe(0);
    expect(metric(after, 'envoy_cluster_circuit_breakers_default_remaining_rq{cluster_name="slow"}')).toBe(4);
    const clusters = (await admin(proxy, '/clusters')).body;
    expect(clusters).toContain('slow::default_priority::max_requests::4\n');
    expect(clusters).toContain('slow::default_priority::max_connections::1024\n');
  });

  it('max_connections: requests wait for a connection (counted as pending); max_pending_requests overflows', async () => {
    const results = await Promise.all(Array.from({ length: 16 }, () => request(proxy.port, '/pooled')));
    const ok = results.filter((r) => r.status === 200).length;
    const overflowed = results.filter((r) => r.status === 503).length;
    expect(ok + overflowed).toBe(16);
    expect(ok).toBeGreaterThan(2); // more requests than connections were served: they waited
    expect(overflowed).toBeGreaterThan(0); // at most 6 may wait
    // 2 connections, or one more when a worker had none yet (as Envoy's per-worker pools do).
    expect(pooled.maxConnections).toBeLessThanOrEqual(3);
    const s = await stats();
    expect(metric(s, 'envoy_cluster_upstream_cx_overflow{cluster_name="pooled"}')).toBeGreaterThan(0);
    expect(metric(s, 'envoy_cluster_upstream_rq_pending_overflow{cluster_name="pooled"}')).toBe(overflowed);
    expect(metric(s, 'envoy_cluster_upstream_rq_pending_active{cluster_name="pooled"}')).toBe(0);
  });

  it('a retry budget caps retries at its share of active requests during a full outage', async () => {
    // 20 clients, 10 requests each, against an upstream that answers 503 to everything.
    const run = async (path: string): Promise<number[]> => {
      const statuses: number[] = [];
      await Promise.all(Array.from({ length: 20 }, async () => {
        for (let i = 0; i < 10; i++) statuses.push((await request(proxy.port, path)).status);
      }));
      return statuses;
    };
    const [withBudget, withoutBudget] = await Promise.all([run('/budgeted'), run('/unbudgeted')]);
    expect(withBudget).toEqual(Array(200).fill(503));
    expect(withoutBudget).toEqual(Array(200).fill(503));
    // Without a budget every request is tried 1 + 3 times.
    expect(unbudgeted.upstream.seen.length).toBe(800);
    // With 20% of ~20 active requests, about 4 retries may run at once against ~16 first tries: ~0.25 retries per request.
    const retries = budgeted.upstream.seen.length - 200;
    expect(retries).toBeGreaterThan(0);
    expect(retries).toBeLessThanOrEqual(0.35 * 200);
    const s = await stats();
    expect(metric(s, 'envoy_cluster_upstream_rq_retry_overflow{cluster_name="budgeted"}')).toBeGreaterThan(0);
    expect(metric(s, 'envoy_cluster_upstream_rq_retry_overflow{cluster_name="unbudgeted"}')).toBe(0);
    // A refused retry forwards the upstream's own answer (not a UO local reply).
    expect(metricSum(s, 'istio_requests_total', 'response_code="503"', 'destination_service="budgeted"')).toBe(200);
    expect(metricSum(s, 'istio_requests_total', 'response_flags="UO"', 'destination_service="budgeted"')).toBe(0);
  });
});
