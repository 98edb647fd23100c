import { describe, expect, it } from 'vitest';
import { RoundRobinBalancer } from '../../../workers/balancers/round-robin-balancer.js';
import { NO_HASH } from '../../../workers/balancers/balancer.js';
import { countPicks, endpointsOf } from './lb-fixtures.js';

describe('RoundRobinBalancer', () => {
  it('visits equal-weight hosts in turn', () => {
    const hosts = endpointsOf('ROUND_ROBIN', [1, 2, 3]);
    const b = new RoundRobinBalancer(hosts);
    const seq = Array.from({ length: 6 }, () => b.pick(NO_HASH, null).port);
    expect(new Set(seq.slice(0, 3)).size).toBe(3);
    expect(seq.slice(3)).toEqual(seq.slice(0, 3));
  });

  it('honours weights exactly over a full cycle (smooth weighted)', () => {
    const b = new RoundRobinBalancer(endpointsOf('ROUND_ROBIN', [{ port: 1, weight: 5 }, { port: 2, weight: 1 }, { port: 3, weight: 1 }]));
    const counts = countPicks(700, () => b.pick(NO_HASH, null));
    expect([counts.get(1), counts.get(2), counts.get(3)]).toEqual([500, 100, 100]);
  });

  it('skips avoided hosts while another exists, and falls back when all are avoided', () => {
    const hosts = endpointsOf('ROUND_ROBIN', [1, 2, 3]);
    const b = new RoundRobinBalancer(hosts);
    const avoid = new Uint8Array(3);
    avoid[0] = 1;
    avoid[1] = 1;
    for (let i = 0; i < 5; i++) expect(b.pick(NO_HASH, avoid).port).toBe(3);
    avoid[2] = 1;
    expect([1, 2, 3]).toContain(b.pick(NO_HASH, avoid).port);
  });

  it('with unequal weights, skips avoided hosts and keeps the others\' proportions', () => {
    const b = new RoundRobinBalancer(endpointsOf('ROUND_ROBIN', [{ port: 1, weight: 3 }, { port: 2, weight: 1 }, { port: 3, weight: 2 }]));
    const avoid = new Uint8Array(3);
    avoid[0] = 1;
    const counts = countPicks(300, () => b.pick(NO_HASH, avoid));
    expect(counts.get(1)).toBeUndefined();
    expect(Math.abs(counts.get(3)! - 200)).toBeLessThanOrEqual(2);
    avoid.fill(1);
    expect([1, 2, 3]).toContain(b.pick(NO_HASH, avoid).port);
  });
});
