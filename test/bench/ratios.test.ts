import { describe, expect, it } from 'vitest';
import { addedP99Ms, comparisons, computeRatios, safeRatio, throughputRatio } from '../../bench/ratios.js';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs } from '../../bench/latency-histogram.js';
import { aggregateRuns, median, type ResultRow, type RunSample } from '../../bench/result-row.js';
import { sample } from './sample-row.js';

describe('median and run aggregation', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('groups runs per scenario/label/mode, keeps medians, sums errors, keeps the spread of every figure and the largest RSS', () => {
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
    expect(isthmus.spread).toMatchObject({ rps: [30_000, 36_000], p99_ms: [2, 9], errors: [0, 2], peak_rss_mb: [50, 55] });
    expect(rows[1]).toMatchObject({ runs: 2, rps: 42_000 });
  });

  it('keeps rows of one target apart by label (1 and 2 workers) and sums scenario counts', () => {
    const rows = aggregateRuns([
      sample({ label: 'isthmus 1w', counts: { reloads_written: 4 } }),
      sample({ label: 'isthmus 2w' }),
      sample({ label: 'isthmus 1w', counts: { reloads_written: 5 } }),
    ]);
    expect(rows.map((r) => [r.label, r.runs])).toEqual([['isthmus 1w', 2], ['isthmus 2w', 1]]);
    expect(rows[0]!.counts).toEqual({ reloads_written: 9 });
    expect(rows[1]!.counts).toBeUndefined();
  });

  it('draws the spectrum from every run\'s latencies together', () => {
    const encoded = (ms: number): string => {
      const h = createLatencyHistogram();
      for (let i = 0; i < 100; i++) recordLatencyMs(h, ms);
      return encodeHistogram(h);
    };
    const [row] = aggregateRuns([sample({ histogram: encoded(1) }), sample({ histogram: encoded(3) })]);
    expect(row!.spectrum[0]![1]).toBeCloseTo(1, 2);
    expect(row!.spectrum.at(-1)![1]).toBeCloseTo(3, 2);
    expect(row).not.toHaveProperty('histogram');
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
    expect(safeRatio(3, 4)).toBe(0.75);
    expect(safeRatio(1, 3)).toBe(0.333);
    expect(safeRatio(null, 4)).toBeNull();
    expect(safeRatio(4, 0)).toBeNull();
    expect(throughputRatio(row({ rps: 30_000 }), row({ rps: 40_000 }))).toBe(0.75);
    expect(throughputRatio(row({}), undefined)).toBeNull();
    expect(throughputRatio(row({}), row({ rps: 0 }))).toBeNull();
    expect(addedP99Ms(row({ p99_ms: 0.9 }), row({ p99_ms: 0.55 }))).toBe(0.35);
    expect(addedP99Ms(undefined, row({}))).toBeNull();
  });

  it('reports each comparison against its goal from issue 2', () => {
    const rows = aggregateRuns([
      sample({ scenario: 'direct', target: 'direct', rps: 60_000, cpu_s_per_1k: null, peak_rss_mb: null }),
      sample({ scenario: 'direct', target: 'direct', label: 'wrk -t1', client: 'wrk', rps: 50_000 }),
      sample({ rps: 25_000, cpu_s_per_1k: 0.06, peak_rss_mb: 48 }),
      sample({ target: 'haproxy', rps: 40_000, cpu_s_per_1k: 0.028 }),
      sample({ scenario: 'direct', target: 'direct', mode: 'fixed', rate: 1000, p99_ms: 0.4 }),
      sample({ mode: 'fixed', rate: 1000, p99_ms: 0.65 }),
      sample({ label: 'isthmus 2w', peak_rss_mb: 75 }),
    ]);
    const byName = new Map(computeRatios(rows).map((r) => [r.name, r]));
    expect(byName.get('isthmus / haproxy throughput (max)')).toMatchObject({ value: 0.625, unit: 'x', goal: '>= 0.9', met: false });
    expect(byName.get('bench client / wrk -t1 throughput on direct')).toMatchObject({ value: 1.2, met: true });
    expect(byName.get('isthmus added p99 vs direct (fixed rate)')).toMatchObject({ value: 0.25, unit: 'ms', goal: '<= 0.3', met: true });
    expect(byName.get('isthmus CPU-s per 1000 requests (max)')).toMatchObject({ value: 0.06, met: false });
    expect(byName.get('haproxy CPU-s per 1000 requests (max)')).toMatchObject({ value: 0.028, goal: null, met: null });
    expect(byName.get('isthmus peak RSS, 2 workers')).toMatchObject({ value: 75, met: false });
    expect(byName.has('isthmus / nginx throughput (max)')).toBe(false); // nginx was not measured
    expect(byName.get('isthmus / haproxy throughput (max)')!.note).toBeNull();
  });

  it('gives the access log cost per request (on - off, same run) and the TLS ratios against the peers', () => {
    const rows = aggregateRuns([
      sample({ rps: 25_000, cpu_s_per_1k: 0.026 }),
      sample({ label: 'isthmus 1w, access log on', rps: 24_000, cpu_s_per_1k: 0.0275 }),
      sample({ scenario: 'tls-keepalive', rps: 18_000, cpu_s_per_1k: 0.03 }),
      sample({ scenario: 'tls-keepalive', target: 'haproxy', rps: 20_000, cpu_s_per_1k: 0.026 }),
      sample({ scenario: 'tls-handshake', rps: 300 }),
      sample({ scenario: 'tls-handshake', target: 'haproxy', rps: 400 }),
      sample({ scenario: 'tls-handshake', target: 'nginx', rps: 500 }),
    ]);
    const byName = new Map(computeRatios(rows).map((r) => [r.name, r]));
    // Saturation rows move by µs from run to run: shown without a verdict (the CPU rounds judge the goal).
    expect(byName.get('isthmus access log CPU per request (on - off, max, saturation: noisy, not the verdict)')).toMatchObject({ value: 1.5, unit: 'µs', goal: null, met: null });
    expect(byName.get('isthmus / haproxy TLS keep-alive throughput')).toMatchObject({ value: 0.9, goal: '>= 0.9', met: true });
    expect(byName.get('isthmus / haproxy TLS handshakes per second')).toMatchObject({ value: 0.75, goal: '>= 0.8', met: false });
    expect(byName.get('isthmus / nginx TLS handshakes per second')).toMatchObject({ value: 0.6, goal: null });
    expect(byName.get('haproxy CPU-s per 1000 requests through TLS (keep-alive)')).toMatchObject({ value: 0.026 });
    expect(byName.has('isthmus / nginx TLS keep-alive throughput')).toBe(false); // nginx keep-alive was not measured
  });

  it('takes the TLS ratios from the rows wrk measured when wrk drove the TLS scenario', () => {
    const rows = aggregateRuns([
      sample({ scenario: 'tls-keepalive', client: 'wrk', rps: 9_000, cpu_s_per_1k: 0.04 }),
      sample({ scenario: 'tls-keepalive', client: 'wrk', target: 'haproxy', rps: 10_000, cpu_s_per_1k: 0.028 }),
      sample({ scenario: 'tls-handshake', client: 'wrk', rps: 400, cpu_s_per_1k: 0.5 }),
      sample({ scenario: 'tls-handshake', client: 'wrk', target: 'haproxy', rps: 500, cpu_s_per_1k: 0.55 }),
    ]);
    const byName = new Map(computeRatios(rows).map((r) => [r.name, r]));
    expect(byName.get('isthmus / haproxy TLS keep-alive throughput')).toMatchObject({ value: 0.9, met: true });
    expect(byName.get('isthmus / haproxy TLS handshakes per second')).toMatchObject({ value: 0.8, met: true });
    expect(byName.get('isthmus CPU-s per 1000 full TLS handshakes (one request each)')).toMatchObject({ value: 0.5 });
    expect(byName.get('haproxy CPU-s per 1000 requests through TLS (keep-alive)')).toMatchObject({ value: 0.028 });
  });

  it("checks issue 11's goals on the default (native) transport: throughput and CPU per request with the access log on, RSS", () => {
    const rows = aggregateRuns([
      sample({ scenario: 'direct', target: 'direct', mode: 'fixed', rate: 1000, p99_ms: 0.4 }),
      sample({ rps: 40_000, cpu_s_per_1k: 0.02, peak_rss_mb: 54 }),
      sample({ mode: 'fixed', rate: 1000, p99_ms: 0.65 }),
      sample({ label: 'isthmus 1w, access log on', rps: 38_000, cpu_s_per_1k: 0.0215 }),
      sample({ target: 'haproxy', rps: 42_000, cpu_s_per_1k: 0.016 }),
      sample({ label: 'isthmus 2w', peak_rss_mb: 72 }),
    ]);
    const byName = new Map(computeRatios(rows).map((r) => [r.name, r]));
    expect(byName.get('isthmus / haproxy throughput (max)')).toMatchObject({ value: 0.952, goal: '>= 0.9', met: true });
    expect(byName.get('isthmus, access log on / haproxy throughput (max)')).toMatchObject({ value: 0.905, goal: '>= 0.9', met: true });
    expect(byName.get('isthmus, access log on: CPU per request (max)')).toMatchObject({ value: 21.5, unit: 'µs', goal: '<= 22', met: true });
    expect(byName.get('isthmus access log CPU per request (on - off, max, saturation: noisy, not the verdict)')).toMatchObject({ value: 1.5, met: null });
    expect(byName.get('isthmus added p99 vs direct (fixed rate)')).toMatchObject({ value: 0.25, unit: 'ms' });
    expect(byName.get('isthmus peak RSS, 1 worker')).toMatchObject({ value: 54, goal: '<= 55', met: true });
    expect(byName.get('isthmus peak RSS, 2 workers')).toMatchObject({ value: 72, goal: '<= 70', met: false });
    // One row per configuration: no second name for the default transport.
    expect([...byName.keys()].filter((n) => n.includes('--transport native'))).toEqual([]);
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

  it('compares every row with direct and with each peer of its scenario and mode', () => {
    const rows = aggregateRuns([
      sample({ scenario: 'direct', target: 'direct', rps: 60_000, p99_ms: 1, cpu_s_per_1k: null, peak_rss_mb: null }),
      sample({ rps: 30_000, p99_ms: 3, cpu_s_per_1k: 0.03, peak_rss_mb: 80 }),
      sample({ target: 'nginx', rps: 40_000, p99_ms: 2, cpu_s_per_1k: 0.02, peak_rss_mb: 16 }),
      sample({ scenario: 'mesh', target: 'haproxy', label: 'haproxy x2', rps: 20_000 }),
      sample({ scenario: 'mesh', label: 'isthmus 1w x2', rps: 10_000 }),
      sample({ mode: 'fixed', rate: 1000, rps: 1000, p99_ms: 0.6 }),
      sample({ scenario: 'direct', target: 'direct', mode: 'fixed', rate: 1000, rps: 1000, p99_ms: 0.4 }),
    ]);
    const table = comparisons(rows);
    const find = (label: string, versus: string, mode = 'max') => table.find((c) => c.label === label && c.versus === versus && c.mode === mode);
    expect(find('isthmus 1w', 'direct')).toMatchObject({ scenario: 'proxy', rps_x: 0.5, p99_x: 3, cpu_x: null, rss_x: null });
    expect(find('isthmus 1w', 'nginx')).toMatchObject({ rps_x: 0.75, p99_x: 1.5, cpu_x: 1.5, rss_x: 5 });
    expect(find('nginx', 'direct')).toMatchObject({ rps_x: 0.667 });
    expect(find('nginx', 'nginx')).toBeUndefined(); // a peer is not compared with itself or other peers
    expect(find('isthmus 1w x2', 'haproxy x2')).toMatchObject({ scenario: 'mesh', rps_x: 0.5 });
    expect(find('isthmus 1w x2', 'nginx')).toBeUndefined(); // peers of another scenario
    expect(find('isthmus 1w', 'direct', 'fixed')).toMatchObject({ rps_x: null, p99_x: 1.5 }); // fixed rate: throughput is the offered rate
  });
});
