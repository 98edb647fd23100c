import { describe, expect, it } from 'vitest';
import { planPriorities } from '../../../workers/balancers/priority-load.js';

describe('planPriorities (Envoy priority load and panic)', () => {
  it('follows Envoy\'s documented spill-over table for two priorities with overprovisioning 1.4', () => {
    // P0 healthy % -> load P0/P1, P1 fully healthy (Envoy docs, "Priority levels").
    const cases: [number, number, number][] = [[100, 100, 0], [72, 100, 0], [71, 99, 1], [50, 70, 30], [25, 35, 65], [0, 0, 100]];
    for (const [healthyPercent, p0, p1] of cases) {
      const plan = planPriorities([100, 100], [healthyPercent, 100], 140, 0);
      expect(plan.load, `P0 ${healthyPercent}% healthy`).toEqual([p0, p1]);
    }
  });

  it('normalizes when all priorities together are under 100', () => {
    // P0 20% healthy -> 28, P1 20% -> 28: each gets half.
    expect(planPriorities([10, 10], [2, 2], 140, 0).load).toEqual([50, 50]);
    // 3 priorities: 14 / 28 / 14 of 56.
    expect(planPriorities([10, 10, 10], [1, 2, 1], 140, 0).load).toEqual([25, 50, 25]);
  });

  it('puts a priority under the panic threshold in panic (it then uses all its hosts)', () => {
    const plan = planPriorities([4, 4], [1, 4], 140, 50);
    expect(plan.panic).toEqual([true, false]);
    expect(plan.load).toEqual([35, 65]);
  });

  it('spreads by host count when every priority is in panic', () => {
    const plan = planPriorities([2, 6], [0, 1], 140, 50);
    expect(plan.panic).toEqual([true, true]);
    expect(plan.load).toEqual([25, 75]);
  });

  it('with panic disabled and nothing healthy, gives priority 0 everything (and no panic)', () => {
    expect(planPriorities([3, 3], [0, 0], 140, 0)).toEqual({ load: [100, 0], panic: [false, false] });
  });

  it('skips an empty priority', () => {
    expect(planPriorities([0, 2], [0, 2], 140, 50).load).toEqual([0, 100]);
  });

  it('a single priority always gets all the load, in panic when under the threshold', () => {
    expect(planPriorities([10], [3], 140, 50)).toEqual({ load: [100], panic: [true] });
    expect(planPriorities([10], [6], 140, 50)).toEqual({ load: [100], panic: [false] });
  });
});
