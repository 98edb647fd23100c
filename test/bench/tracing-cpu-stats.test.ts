// The tracing CPU rounds' arithmetic (bench/tracing-cpu-stats.ts) with known inputs: quartiles, the per-round
// throughput ratio cpu_off/cpu_on, the verdict that needs the whole interquartile range within the goal, and the
// span-count check that keeps an untraced (or span-shedding) proxy from being reported as traced.
import { describe, expect, it } from 'vitest';
import { compareRows, medianCiRank, quantile, ratioSpread, spanCountProblem, spreadOf, verdict } from '../../bench/tracing-cpu-stats.js';
import { parsePerfCsv, startPerf } from '../../bench/tracing-cpu.js';
import { parseH2loadCounts } from '../../bench/fixed-count-client.js';

describe('tracing cpu arithmetic', () => {
  it('takes quartiles by linear interpolation between ranks', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantile([1, 2, 3, 4], 0.75)).toBe(3.25);
    expect(quantile([7], 0.25)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    // unsorted input, NaN left out
    expect(spreadOf([5, 1, NaN, 3, 2, 4])).toMatchObject({ median: 3, q1: 2, q3: 4 });
  });

  it('gives the median a distribution-free 95% interval from order statistics', () => {
    // P(Bin(20, 1/2) <= 5) = 0.0207, P(<= 6) = 0.0577: ranks 6 and 15 of 20; of 100: 40 and 61; too few: min-max.
    expect(medianCiRank(20)).toBe(6);
    expect(medianCiRank(100)).toBe(40);
    expect(medianCiRank(5)).toBe(1);
    expect(medianCiRank(6)).toBe(1);
    // Past 1074 rounds 0.5 ** n underflows: the rank must stay near n/2 - 0.98 sqrt(n), not jump to n (an inverted interval).
    const k = medianCiRank(2000);
    expect(k).toBeGreaterThan(950);
    expect(k).toBeLessThan(962);
    const s = spreadOf(Array.from({ length: 20 }, (_, i) => 20 - i));
    expect([s.ciLow, s.ciHigh]).toEqual([6, 15]);
  });

  it('pairs rounds: the ratio of each round, then its spread', () => {
    // off 20 µs every round; on 20, 21, 22, 25, 40 µs -> ratios 1, 0.952.., 0.909.., 0.8, 0.5
    const s = ratioSpread([20, 20, 20, 20, 20], [20, 21, 22, 25, 40]);
    expect(s.median).toBeCloseTo(20 / 22, 10);
    expect([s.ciLow, s.ciHigh]).toEqual([0.5, 1]);
    expect(s.q1).toBeCloseTo(0.8, 10);
    expect(s.q3).toBeCloseTo(20 / 21, 10);
    expect(() => ratioSpread([1, 2], [1])).toThrow(/2 untraced rounds vs 1 traced/);
  });

  it('says met only when the low end of the median\'s interval is within the goal', () => {
    const ratio = (ciLow: number, ciHigh: number) => ({ median: (ciLow + ciHigh) / 2, q1: ciLow, q3: ciHigh, ciLow, ciHigh });
    expect(verdict(ratio(0.981, 1.0), 0.02)).toBe('met');
    expect(verdict(ratio(0.98, 1.0), 0.02)).toBe('met');
    expect(verdict(ratio(0.97, 1.0), 0.02)).toBe('unsettled');
    expect(verdict(ratio(0.94, 0.979), 0.02)).toBe('not met');
    expect(verdict(ratio(0.9, 0.93), 0.1)).toBe('met');
  });

  it('checks a traced row received spans at its sampling rate', () => {
    expect(spanCountProblem(100, 10_000, 10_000)).toBeNull();
    expect(spanCountProblem(100, 10_000, 9_950)).toBeNull();
    expect(spanCountProblem(100, 10_000, 9_000)).toMatch(/1000 missing/);
    // 1% of 400000: 4000 expected, 5 sigma = 5 * sqrt(3960) ~ 315
    expect(spanCountProblem(1, 400_000, 4_100)).toBeNull();
    expect(spanCountProblem(1, 400_000, 0)).toMatch(/received 0 spans for 400000 requests at 1% sampling \(expected 4000/);
    expect(spanCountProblem(1, 400_000, 400_000)).not.toBeNull();
  });

  it('compares rows within the goal, and marks a row with a wrong span count invalid whatever its CPU', () => {
    const off = { cpuUs: [20, 20, 20, 20], statUs: [], instructions: [] };
    const on = { cpuUs: [20.2, 20.3, 20.1, 20.4], statUs: [], instructions: [] };
    const good = compareRows('isthmus', 1, off, on, 80_000, 800);
    expect(good.goal).toBe(0.02);
    expect(good.verdict).toBe('met');
    expect(good.instructionRatio).toBeNull();
    const untraced = compareRows('isthmus', 1, off, on, 80_000, 0);
    expect(untraced.verdict).toBe('invalid');
    expect(untraced.problem).toMatch(/received 0 spans/);
    const heavy = compareRows('isthmus', 100, off, { ...on, cpuUs: [25, 25, 25, 25] }, 80_000, 80_000);
    expect(heavy.ratio.median).toBeCloseTo(0.8, 10);
    expect(heavy.verdict).toBe('not met');
  });

  it('reads perf stat -x, and h2load summaries', () => {
    const perf = parsePerfCsv('<not supported>,,instructions:k,0,100.00,,\n123456,,instructions:u,1000,100.00,,\n');
    expect(perf.get('instructions:u')).toBe(123456);
    expect(perf.get('instructions:k')).toBeNull();
    const out = 'finished in 1.2s, 16000.00 req/s, 17.5MB/s\nrequests: 20000 total, 20000 started, 20000 done, 19990 succeeded, 10 failed, 0 errored, 0 timeout\nstatus codes: 19980 2xx, 0 3xx, 10 4xx, 0 5xx\n';
    expect(parseH2loadCounts(out)).toEqual({ succeeded: 19990, ok2xx: 19980 });
    expect(parseH2loadCounts('h2load: connection refused')).toBeNull();
  });
});

describe('perf instruction counts per round', () => {
  it('answer NaN at once for a perf that ended before it was stopped (its count is not the round\'s), not wait for ever', async () => {
    // node refusing perf's arguments ("stat" is no script here) ends at once, as perf does when it cannot attach.
    const perf = startPerf(process.pid, ['instructions:u'], process.execPath);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await perf.stop()).toBeNaN();
  }, 20_000);
});
