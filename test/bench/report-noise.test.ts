// The report scenario's verdict: each row's p99 against Report off round by
// round (the k-th sample of each row), beside the A/A control's ratios; Report
// on is within noise only when its median ratio lies inside the A/A range.
import { describe, expect, it } from 'vitest';
import type { RunSample } from '../../bench/result-row.js';
import { formatReportNoise, reportNoise } from '../../bench/report-noise.js';

const OFF = 'isthmus 1w, cache hit, Report off';

function sample(label: string, mode: 'max' | 'fixed', p99: number, cpu = 0.02): RunSample {
  return {
    scenario: 'report', target: 'isthmus', label, mode, client: 'isthmus-bench', connections: 50, rate: mode === 'fixed' ? 1000 : null,
    rps: mode === 'fixed' ? 1000 : 10_000, p50_ms: 0.3, p90_ms: 0.5, p99_ms: p99, p999_ms: p99, max_ms: p99, errors: 0, cpu_s_per_1k: cpu,
    peak_rss_mb: 60, upstream_cpu_s_per_1k: null, client_threads: 1, histogram: null,
    counts: { check_cache_hits: 1000, check_cache_misses: 0, control_cpu_ms: 10 },
  } as RunSample;
}

function rounds(on: readonly number[], aa: readonly number[]): RunSample[] {
  const off = [2, 4, 3];
  return off.flatMap((p, k) => [
    sample(OFF, 'fixed', p), sample(`${OFF}, A/A control`, 'fixed', aa[k]!), sample('isthmus 1w, cache hit, Report on', 'fixed', on[k]!, 0.03),
    sample(OFF, 'max', 9), sample('isthmus 1w, cache hit, Report on', 'max', 9, 0.03),
  ]);
}

describe('reportNoise', () => {
  it('compares round by round and says within noise when Report on sits inside the A/A range', () => {
    const n = reportNoise(rounds([2.2, 4.4, 3.3], [1.8, 5.2, 3.0]))!;
    const on = n.rows.find((r) => r.label.endsWith('Report on'))!;
    expect(on.p99_vs_off!.median).toBeCloseTo(1.1);
    expect(on.cpu_us_max).toBeCloseTo(30);
    expect(on.control_us_max).toBeCloseTo(10);
    expect(n.rows.find((r) => r.label.endsWith('A/A control'))!.p99_vs_off).toEqual({ median: 1, min: 0.9, max: 1.3 });
    expect(n.within_noise).toBe(true);
    expect(formatReportNoise(n)).toContain('within noise (its median ratio inside the A/A control\'s range): yes');
  });

  it('says no when Report on is slower than the A/A spread, and not known without the control', () => {
    expect(reportNoise(rounds([4, 8, 6], [1.8, 5.2, 3.0]))!.within_noise).toBe(false);
    expect(reportNoise(rounds([2, 4, 3], [2, 4, 3]).filter((s) => !s.label.endsWith('A/A control')))!.within_noise).toBeNull();
  });
});
