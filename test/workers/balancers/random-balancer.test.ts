import { describe, expect, it } from 'vitest';
import { NO_HASH } from '../../../workers/balancers/balancer.js';
import { RandomBalancer } from '../../../workers/balancers/random-balancer.js';
import { countPicks, endpointsOf } from './lb-fixtures.js';

describe('RandomBalancer', () => {
  it('spreads picks by weight (1:3) within statistical tolerance', () => {
    const b = new RandomBalancer(endpointsOf('RANDOM', [{ port: 1, weight: 1 }, { port: 2, weight: 3 }]));
    const counts = countPicks(20_000, () => b.pick(NO_HASH, null));
    // Binomial: mean 5000, sd ≈ 61; 6 sd.
    expect(Math.abs(counts.get(1)! - 5000)).toBeLessThan(370);
  });

  it('never returns an avoided host while another exists', () => {
    const hosts = endpointsOf('RANDOM', [1, 2, 3, 4]);
    const b = new RandomBalancer(hosts);
    const avoid = new Uint8Array(4);
    avoid[0] = avoid[1] = avoid[2] = 1;
    for (let i = 0; i < 200; i++) expect(b.pick(NO_HASH, avoid).port).toBe(4);
  });
});
