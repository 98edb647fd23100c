// retry_host_predicate previous_hosts: with two failing endpoints of three,
// two retries that avoid every host tried always reach the good one; v1's
// rule (avoid only the last host) can go back to the first failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, keepAliveAgent, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

let bad1: Upstream;
let bad2: Upstream;
let good: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  const failing = (name: string) => (_req: unknown, res: { statusCode: number; end(b: string): void }) => {
    res.statusCode = 503;
    res.end(name);
  };
  bad1 = await startUpstream(failing('bad1'));
  bad2 = await startUpstream(failing('bad2'));
  good = await startUpstream((_req, res) => res.end('good'));
  const retry = { retry_on: '5xx', num_retries: 2, retry_back_off: { base_interval: '0.001s', max_interval: '0.002s' } };
  const bootstrap = bootstrapWith(
    {
      virtual_hosts: [{
        name: 'all',
        domains: ['*'],
        routes: [
          {
            match: { prefix: '/previous-hosts' },
            route: { cluster: 'svc', retry_policy: { ...retry, retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }], host_selection_retry_max_attempts: 3 } },
          },
          { match: { prefix: '/last-host' }, route: { cluster: 'svc', retry_policy: retry } },
        ],
      }],
    },
    [{ name: 'svc', ports: [bad1.port, bad2.port, good.port], lb_policy: 'RANDOM' }],
  ) as { static_resources: { clusters: Record<string, unknown>[] } };
  // 25 requests at once retry together: lift max_retries (default 3 concurrent retries) out of the way.
  bootstrap.static_resources.clusters[0]!.circuit_breakers = { thresholds: [{ max_retries: 1000 }] };
  proxy = await startProxy({ workers: 2, bootstrap });
});

afterAll(async () => {
  await proxy?.stop();
  await Promise.all([bad1?.close(), bad2?.close(), good?.close()]);
});

async function outcomes(path: string, n: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i += 25) {
    const results = await Promise.all(Array.from({ length: 25 }, () => request(proxy.port, path, { agent: keepAliveAgent })));
    statuses.push(...results.map((r) => r.status));
  }
  return statuses;
}

describe('retries and hosts', () => {
  it('with previous_hosts, two retries over three endpoints always reach the one that works', async () => {
    const statuses = await outcomes('/previous-hosts', 200);
    expect(statuses).toEqual(Array(200).fill(200));
  });

  it('without it, a retry avoids only the host that just failed, so some requests bounce between the two bad ones', async () => {
    // P(bad, other bad, first bad again) = 2/3 x 1/2 x 1/2 = 1/6 per request: 200 requests fail ~33 times.
    const statuses = await outcomes('/last-host', 200);
    const failed = statuses.filter((s) => s === 503).length;
    expect(failed).toBeGreaterThan(5);
    expect(failed).toBeLessThan(80);
  });
});
