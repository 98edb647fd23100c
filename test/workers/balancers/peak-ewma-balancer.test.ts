import { describe, expect, it } from 'vitest';
import { NO_HASH } from '../../../workers/balancers/balancer.js';
import { DEFAULT_RTT_MS, LatencyTable } from '../../../workers/balancers/latency-table.js';
import { PeakEwmaBalancer } from '../../../workers/balancers/peak-ewma-balancer.js';
import { countPicks, endpointsOf } from './lb-fixtures.js';

describe('LatencyTable (peak-sensitive EWMA)', () => {
  it('takes a slower sample at once (the peak) and lets faster ones pull it down with time', () => {
    const t = new LatencyTable(1, 1000);
    t.record(0, 10, true, 0);
    t.record(0, 50, true, 1);
    expect(t.estimate(0, 1)).toBe(50);
    t.record(0, 10, true, 1001); // one decay period later: weight e^-1 on the old value
    expect(t.estimate(0, 1001)).toBeCloseTo(50 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 6);
  });

  it('decays towards zero without samples, so an idle endpoint is tried again', () => {
    const t = new LatencyTable(1, 1000);
    t.record(0, 100, true, 0);
    expect(t.estimate(0, 3000)).toBeCloseTo(100 * Math.exp(-3), 6);
  });

  it('gives an endpoint without samples the cluster\'s typical latency (neutral), the default before any sample', () => {
    const t = new LatencyTable(2, 10_000);
    expect(t.estimate(1, 0)).toBe(DEFAULT_RTT_MS);
    t.record(0, 4, true, 0);
    expect(t.estimate(1, 0)).toBe(4);
  });

  it('orders endpoints by log score exactly as by their decayed estimates at any common time', () => {
    const t = new LatencyTable(3, 1000);
    t.record(0, 10, true, 0);
    t.record(1, 5, true, 5000);
    t.record(2, 40, true, 4000);
    for (const now of [5000, 6000, 20_000]) {
      const byEstimate = [0, 1, 2].sort((x, y) => t.estimate(x, now) - t.estimate(y, now));
      const byScore = [0, 1, 2].sort((x, y) => t.logScore(x) - t.logScore(y));
      expect(byScore).toEqual(byEstimate);
    }
  });

  it('counts a fast failure as slow', () => {
    const t = new LatencyTable(2, 10_000);
    t.record(0, 5, true, 0);
    t.record(1, 1, false, 0);
    expect(t.estimate(1, 0)).toBeGreaterThan(t.estimate(0, 0));
  });
});

describe('PeakEwmaBalancer', () => {
  it('sends almost everything to the faster of two endpoints', () => {
    const hosts = endpointsOf('PEAK_EWMA', [1, 2]);
    const t = new LatencyTable(2, 10_000);
    const now = performance.now();
    t.record(0, 1, true, now);
    t.record(1, 21, true, now);
    const counts = countPicks(1000, () => new PeakEwmaBalancer(hosts, t).pick(NO_HASH, null));
    expect(counts.get(1)).toBe(1000);
  });

  it('weighs load: a fast endpoint with many requests in flight loses to a slower idle one', () => {
    const hosts = endpointsOf('PEAK_EWMA', [1, 2]);
    const t = new LatencyTable(2, 10_000);
    const now = performance.now();
    t.record(0, 1, true, now);
    t.record(1, 5, true, now);
    hosts[0]!.rqActive = 9; // cost 1 x 10 vs 5 x 1
    expect(new PeakEwmaBalancer(hosts, t).pick(NO_HASH, null).port).toBe(2);
  });

  it('keeps the slow one of five below its fair share', () => {
    const hosts = endpointsOf('PEAK_EWMA', [1, 2, 3, 4, 5]);
    const t = new LatencyTable(5, 10_000);
    const now = performance.now();
    for (let i = 0; i < 5; i++) t.record(i, i === 4 ? 21 : 1, true, now);
    const b = new PeakEwmaBalancer(hosts, t);
    const counts = countPicks(5000, () => b.pick(NO_HASH, null));
    // Two distinct choices: the slow endpoint is always compared with a faster one and never wins.
    expect(counts.get(5) ?? 0).toBe(0);
  });
});
