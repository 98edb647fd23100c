// The cluster's pick path: host sets by priority rebuilt when the health
// epoch moves, spill-over and panic, and how retries avoid hosts.
import { describe, expect, it } from 'vitest';
import { NO_HASH } from '../../workers/balancers/balancer.js';
import { hashString } from '../../workers/balancers/hash32.js';
import { hostSetRefresher } from '../../workers/balancers/host-set-refresher.js';
import { clusterConfig, clusterWith, countPicks, FakeHealth, ports } from './balancers/lb-fixtures.js';

describe('UpstreamCluster host sets', () => {
  it('stops picking an endpoint once the health epoch says it is down, and picks it again when it is back', () => {
    const health = new FakeHealth();
    const c = clusterWith(clusterConfig('ROUND_ROBIN', [1, 2, 3]), health);
    expect(countPicks(30, () => c.pick(NO_HASH, null)).get(2)).toBe(10);
    health.set(1, false);
    c.refreshHostSet(); // what the worker's refresher timer does
    expect(countPicks(30, () => c.pick(NO_HASH, null)).get(2)).toBeUndefined();
    health.set(1, true);
    c.refreshHostSet(); // what the worker's refresher timer does
    expect(countPicks(30, () => c.pick(NO_HASH, null)).get(2)).toBe(10);
  });

  it('does not rebuild while the epoch stays (a flag change without an epoch bump is not seen)', () => {
    const health = new FakeHealth();
    const c = clusterWith(clusterConfig('ROUND_ROBIN', [1, 2]), health);
    const before = c.priorities;
    expect(c.refreshHostSet()).toBe(false);
    expect(c.priorities).toBe(before);
    health.set(0, false);
    expect(c.refreshHostSet()).toBe(true);
    expect(c.priorities).not.toBe(before);
  });

  it('never rebuilds in a pick: the request right after a health change picks from the old Maglev table, the refresher timer swaps in the new one', async () => {
    const health = new FakeHealth();
    // 24 hosts over a 65537-slot table (Envoy's default size): a rebuild is milliseconds of CPU.
    const c = clusterWith(clusterConfig('MAGLEV', ports(24), { maglevTableSize: 65537 }), health);
    const keys = Array.from({ length: 2000 }, (_, i) => hashString(`key-${i}`));
    const before = c.priorities;
    health.set(0, false);
    const rebuildsBefore = hostSetRefresher.rebuilds;
    // The next picks see the old table: the host that just went down still gets its keys, nothing was rebuilt.
    const onDownHost = keys.filter((k) => c.pick(k, null)!.port === ports(24)[0]).length;
    expect(onDownHost).toBeGreaterThan(0);
    expect(c.priorities).toBe(before);
    // The worker's refresher notices on its timer (off the request path) and swaps in the new table.
    const deadline = Date.now() + 2000;
    while (c.priorities === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(c.priorities).not.toBe(before);
    expect(hostSetRefresher.rebuilds).toBeGreaterThan(rebuildsBefore);
    expect(keys.filter((k) => c.pick(k, null)!.port === ports(24)[0]).length).toBe(0);
    c.close();
  });

  it('keeps traffic in priority 0 while it is healthy and fails over to priority 1 when its endpoints fail', () => {
    const health = new FakeHealth();
    const config = clusterConfig('ROUND_ROBIN', [{ port: 1, priority: 0 }, { port: 2, priority: 0 }, { port: 3, priority: 1 }, { port: 4, priority: 1 }]);
    const c = clusterWith(config, health);
    const local = countPicks(1000, () => c.pick(NO_HASH, null));
    expect((local.get(1) ?? 0) + (local.get(2) ?? 0)).toBe(1000);
    health.set(0, false); // half of P0 healthy: 2 x 1/2 x 1.4 = 70% stays, 30% spills
    c.refreshHostSet(); // what the worker's refresher timer does
    const half = countPicks(10_000, () => c.pick(NO_HASH, null));
    expect(half.get(1)).toBeUndefined();
    expect(Math.abs(half.get(2)! / 10_000 - 0.7)).toBeLessThan(0.03);
    health.set(1, false);
    c.refreshHostSet(); // what the worker's refresher timer does
    const failed = countPicks(1000, () => c.pick(NO_HASH, null));
    expect((failed.get(3) ?? 0) + (failed.get(4) ?? 0)).toBe(1000);
  });

  it('in panic (healthy share under healthy_panic_threshold) balances over every host of the level', () => {
    const health = new FakeHealth();
    const c = clusterWith(clusterConfig('ROUND_ROBIN', [1, 2, 3, 4]), health);
    health.set(0, false);
    health.set(1, false);
    health.set(2, false); // 25% healthy < 50%
    c.refreshHostSet(); // what the worker's refresher timer does
    const counts = countPicks(400, () => c.pick(NO_HASH, null));
    expect([...counts.keys()].sort()).toEqual([1, 2, 3, 4]);
    const level = c.priorities.levels[0]!;
    expect(level.panic).toBe(true);
  });

  it('answers null (no healthy upstream) when nothing is healthy and panic is disabled', () => {
    const health = new FakeHealth();
    const c = clusterWith(clusterConfig('ROUND_ROBIN', [1, 2], { healthyPanicThresholdPercent: 0 }), health);
    health.set(0, false);
    health.set(1, false);
    c.refreshHostSet(); // what the worker's refresher timer does
    expect(c.pick(NO_HASH, null)).toBeNull();
  });

  it('keeps a hashed key on its endpoint and moves it only when that endpoint goes down', () => {
    const health = new FakeHealth();
    const c = clusterWith(clusterConfig('RING_HASH', ports(4)), health);
    const keys = Array.from({ length: 500 }, (_, i) => hashString(`k${i}`));
    const home = keys.map((k) => c.pick(k, null)!.port);
    health.set(0, false);
    c.refreshHostSet(); // what the worker's refresher timer does
    keys.forEach((k, i) => {
      const now = c.pick(k, null)!.port;
      if (home[i] !== ports(4)[0]) expect(now).toBe(home[i]);
      else expect(now).not.toBe(home[i]);
    });
  });
});

describe('UpstreamCluster retries', () => {
  it('v1 rule: a retry avoids the endpoint that just failed when another exists', () => {
    const c = clusterWith(clusterConfig('RANDOM', [1, 2, 3]));
    const failed = c.endpoints[0]!;
    for (let i = 0; i < 200; i++) expect(c.pick(NO_HASH, failed)).not.toBe(failed);
    const single = clusterWith(clusterConfig('RANDOM', [1]));
    expect(single.pick(NO_HASH, single.endpoints[0]!)).toBe(single.endpoints[0]);
  });

  it('previous_hosts: a retry avoids every endpoint already tried, and takes any when all were tried', () => {
    for (const policy of ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST', 'RING_HASH', 'MAGLEV', 'PEAK_EWMA'] as const) {
      const c = clusterWith(clusterConfig(policy, [1, 2, 3]));
      const [a, b, d] = c.endpoints;
      for (let i = 0; i < 50; i++) expect(c.pick(hashString(`k${i}`), b!, [a!, b!], 1), policy).toBe(d);
      expect(c.endpoints).toContain(c.pick(NO_HASH, d!, [a!, b!, d!], 1));
    }
  });

  it('leaves no avoid marks behind: the next plain pick sees every host', () => {
    const c = clusterWith(clusterConfig('ROUND_ROBIN', [1, 2]));
    c.pick(NO_HASH, c.endpoints[1]!, [c.endpoints[0]!, c.endpoints[1]!], 1);
    expect(countPicks(10, () => c.pick(NO_HASH, null)).size).toBe(2);
  });

  it('previous_hosts across priorities: a re-pick may find the untried host in another level', () => {
    const health = new FakeHealth();
    const config = clusterConfig('RANDOM', [{ port: 1, priority: 0 }, { port: 2, priority: 0 }, { port: 3, priority: 1 }]);
    const c = clusterWith(config, health);
    health.set(1, false); // P0: 1 of 2 healthy -> 70% P0, 30% P1
    c.refreshHostSet(); // what the worker's refresher timer does
    const tried = [c.endpoints[0]!];
    const counts = countPicks(2000, () => c.pick(NO_HASH, c.endpoints[0]!, tried, 5));
    // P0's only usable host was tried: each of the 1 + 5 picks leaves P0 with 30% chance (Envoy's re-pick rule).
    expect(Math.abs(counts.get(3)! / 2000 - (1 - 0.7 ** 6))).toBeLessThan(0.04);
  });

  it('previous_hosts with a hashed request: re-picks mix the attempt into the hash, so they too can reach another level', () => {
    const health = new FakeHealth();
    const config = clusterConfig('RING_HASH', [{ port: 1, priority: 0 }, { port: 2, priority: 0 }, { port: 3, priority: 1 }]);
    const c = clusterWith(config, health);
    health.set(1, false);
    c.refreshHostSet(); // what the worker's refresher timer does
    const tried = [c.endpoints[0]!];
    let inP1 = 0;
    for (let i = 0; i < 1000; i++) if (c.pick(hashString(`key-${i}`), c.endpoints[0]!, tried, 5)!.port === 3) inP1++;
    expect(Math.abs(inP1 / 1000 - (1 - 0.7 ** 6))).toBeLessThan(0.06);
  });
});
