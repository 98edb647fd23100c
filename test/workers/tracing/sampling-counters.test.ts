// The request path's sampling draw (a per-thread xorshift against a percent
// threshold) and the per-worker rows of the tracing counters it bumps without
// atomics: 0% never samples, 100% always does, a percent in between samples
// about that share; the Prometheus text sums every worker's row, and a worker
// id outside the table is refused rather than sharing another worker's row.
import { describe, expect, it } from 'vitest';
import { sampleAtPercent } from '../../../workers/tracing/sampling-rng.js';
import { createTracingCounters, renderTracingCounters, TRACE_COUNTER, workerTracingCounters } from '../../../workers/tracing/tracing-counters.js';

describe('sampling draw', () => {
  it('never samples at 0%, always at 100%, and about p% in between', () => {
    const n = 200_000;
    let at0 = 0;
    let at100 = 0;
    let at1 = 0;
    let at50 = 0;
    let atTenth = 0;
    for (let i = 0; i < n; i++) {
      if (sampleAtPercent(0)) at0++;
      if (sampleAtPercent(100)) at100++;
      if (sampleAtPercent(1)) at1++;
      if (sampleAtPercent(50)) at50++;
      if (sampleAtPercent(0.1)) atTenth++;
    }
    expect(at0).toBe(0);
    expect(at100).toBe(n);
    // Binomial bounds of about 6 standard deviations.
    expect(Math.abs(at1 - n * 0.01)).toBeLessThan(6 * Math.sqrt(n * 0.01 * 0.99));
    expect(Math.abs(at50 - n * 0.5)).toBeLessThan(6 * Math.sqrt(n * 0.25));
    expect(Math.abs(atTenth - n * 0.001)).toBeLessThan(6 * Math.sqrt(n * 0.001) + 2);
  });

  it('does not fall into a short cycle: consecutive 50% draws are not all alike', () => {
    let runs = 0;
    let last = sampleAtPercent(50);
    for (let i = 0; i < 10_000; i++) {
      const next = sampleAtPercent(50);
      if (next !== last) runs++;
      last = next;
    }
    expect(runs).toBeGreaterThan(4_000);
    expect(runs).toBeLessThan(6_000);
  });
});

describe('tracing counters by worker', () => {
  it('renders the sum of every worker row', () => {
    const table = createTracingCounters(3);
    const sab = table.buffer as SharedArrayBuffer;
    const w0 = workerTracingCounters(sab, 0);
    const w2 = workerTracingCounters(sab, 2);
    w0[TRACE_COUNTER.NOT_SAMPLED]! += 5;
    w2[TRACE_COUNTER.NOT_SAMPLED]! += 7;
    w2[TRACE_COUNTER.RANDOM_SAMPLING]! += 1;
    const text = renderTracingCounters(table);
    expect(text).toContain('\nisthmus_tracing_not_sampled_total 12\n');
    expect(text).toContain('\nenvoy_tracing_random_sampling 1\n');
    // A restarted worker's view of the same row continues its counts.
    expect(workerTracingCounters(sab, 2)[TRACE_COUNTER.NOT_SAMPLED]).toBe(7);
  });

  it('refuses a worker id past the table (two writers on one row would lose counts) and a bad worker count', () => {
    const sab = createTracingCounters(2).buffer as SharedArrayBuffer;
    expect(() => workerTracingCounters(sab, 2)).toThrow(/worker 2 of 2/);
    expect(() => workerTracingCounters(sab, -1)).toThrow();
    expect(() => createTracingCounters(0)).toThrow();
  });

  it('renders a count past 2^31 - 1 (a row wrapped by plain adds, or rows summed) as the count, never negative', () => {
    const table = createTracingCounters(2);
    const sab = table.buffer as SharedArrayBuffer;
    const w0 = workerTracingCounters(sab, 0);
    const w1 = workerTracingCounters(sab, 1);
    w0[TRACE_COUNTER.NOT_SAMPLED] = 2 ** 31 - 1;
    w0[TRACE_COUNTER.NOT_SAMPLED]!++; // wraps to -2^31 in the Int32Array
    w1[TRACE_COUNTER.NOT_SAMPLED] = 2 ** 31 - 1;
    w1[TRACE_COUNTER.RANDOM_SAMPLING] = 2 ** 30;
    w0[TRACE_COUNTER.RANDOM_SAMPLING] = 2 ** 30;
    const text = renderTracingCounters(table);
    expect(text).toContain(`\nisthmus_tracing_not_sampled_total ${2 ** 32 - 1}\n`);
    expect(text).toContain(`\nenvoy_tracing_random_sampling ${2 ** 31}\n`);
  });
});
