import { describe, expect, it } from 'vitest';
import { addedP99Ms, computeRatios, throughputRatio } from '../../bench/ratios.js';
import { aggregateRuns, median, type ResultRow, type RunSample } from '../../bench/result-row.js';
import { sample } from './sample-row.js';

describe('median and run aggregation', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('groups runs per scenario/target/mode, keeps medians, sums errors, keeps the rps spread and the largest RSS', () => {
    const rows = aggregateRuns([
      sample({ rps: 30_000, p99_ms: 2, errors: 1, peak_rss_mb: 50 }),
      sample({ target: 'haproxy', rps: 40_000 }),
      sample({ rps: 36_000, p99_ms: 9, errors: 0, peak_rss_mb: 55 }),
      sample({ target: 'haproxy', rps: 44_000 }),
      sample({ rps: 33_000, p99_ms: 3, errors: 2, peak_rss_mb: 52 }),
    ]);
    expect(rows.map((r) => r.target)).toEqual(['isthmus', 'haproxy']);
    const isthmus = rows[0]!;
    expect(isthmus).toMatchObject({ runs: 3, rps: 33_000, rps_min: 30_000, rps_max: 36_000, p99_ms: 3, errors: 3, peak_rss_mb: 55 });
    expect(rows[1]).toMatchObject({ runs: 2, rps: 42_000 });
  });

  it('leaves CPU and RSS null where they were not measured (direct)', () => {
    const [row] = aggregateRuns([sample({ target: 'direct', cpu_s_per_1k: null, peak_rss_mb: null })]);
    expect(row!.cpu_s_per_1k).toBeNull();
    expect(row!.peak_rss_mb).toBeNull();
  });
});

describe('ratios', () => {
  const row = (overrides: Partial<RunSample>): ResultRow => aggregateRuns([sample(overrides)])[0]!;

  it('divides throughput and subtracts p99, with null when a side is missing', () => {
    expect(throughputRatio(row({ rps: 30_000 }), row({ rps: 40_000 }))).toBe(0.75);
    expect(throughputRatio(row({}), undefined)).toBeNull();
    expect(throughputRatio(row({}), row({ rps: 0 }))).toBeNull();
    expect(addedP99Ms(row({ p99_ms: 0.9 }), row({ p99_ms: 0.55 }))).toBe(0.35);
    expect(addedP99Ms(undefined, row({}))).toBeNull();
  });

  it('reports each comparison against its goal from issue 2', () => {
    const rows = aggregateRuns([
      sample({ scenario: 'direct', target: 'direct', rps: 60_000, cpu_s_per_1k: null, peak_rss_mb: null }),
      sample({ scenario: 'direct-wrk', target: 'direct', client: 'wrk', rps: 50_000 }),
      sample({ rps: 25_000, cpu_s_per_1k: 0.06, peak_rss_mb: 48 }),
      sample({ target: 'haproxy', rps: 40_000, cpu_s_per_1k: 0.028 }),
      sample({ scenario: 'direct', target: 'direct', mode: 'fixed', rate: 1000, p99_ms: 0.4 }),
      sample({ mode: 'fixed', rate: 1000, p99_ms: 0.8 }),
      sample({ scenario: 'proxy-2w', peak_rss_mb: 75 }),
    ]);
    const byName = new Map(computeRatios(rows).map((r) => [r.name, r]));
    expect(byName.get('isthmus / haproxy throughput (max)')).toMatchObject({ value: 0.625, unit: 'x', goal: '>= 0.6', met: true });
    expect(byName.get('bench client / wrk -t1 throughput on direct')).toMatchObject({ value: 1.2, met: true });
    expect(byName.get('isthmus added p99 vs direct (fixed rate)')).toMatchObject({ value: 0.4, unit: 'ms', met: true });
    expect(byName.get('isthmus CPU-s per 1000 requests (max)')).toMatchObject({ value: 0.06, met: false });
    expect(byName.get('haproxy CPU-s per 1000 requests (max)')).toMatchObject({ value: 0.028, goal: null, met: null });
    expect(byName.get('isthmus peak RSS, 2 workers')).toMatchObject({ value: 75, met: false });
    expect(byName.has('isthmus / nginx throughput (max)')).toBe(false); // nginx was not measured
    expect(byName.get('isthmus / haproxy throughput (max)')!.note).toBeNull();
  });

  it('notes when one side was measured in fewer runs (a target failed part-way)', () => {
    const rows = aggregateRuns([
      sample({ rps: 25_000 }),
      sample({ target: 'haproxy', rps: 40_000 }),
      sample({ target: 'haproxy', rps: 42_000 }),
    ]);
    const ratio = computeRatios(rows).find((r) => r.name === 'isthmus / haproxy throughput (max)');
    expect(ratio).toMatchObject({ value: 0.61, note: 'runs differ: 1 vs 2' });
  });
});
