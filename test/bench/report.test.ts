import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { computeRatios } from '../../bench/ratios.js';
import { formatMarkdown, formatTable, machineInfo, writeReport, type BenchReport } from '../../bench/report.js';
import { aggregateRuns } from '../../bench/result-row.js';
import { sample } from './sample-row.js';

const RESULT_KEYS = [
  'scenario', 'target', 'mode', 'connections', 'rate', 'rps', 'p50_ms', 'p90_ms', 'p99_ms', 'p999_ms', 'max_ms', 'errors', 'cpu_s_per_1k', 'peak_rss_mb',
];

function report(): BenchReport {
  const results = aggregateRuns([
    sample({ scenario: 'direct', target: 'direct', rps: 50_000, cpu_s_per_1k: null, peak_rss_mb: null }),
    sample({ rps: 30_000 }),
    sample({ target: 'haproxy', rps: 40_000 }),
    sample({ mode: 'fixed', rate: 1000, rps: 1000 }),
  ]);
  return {
    machine: machineInfo(),
    date: '2026-11-25T16:00:00.000Z',
    command: 'isthmus bench --quick',
    settings: { runs: 1, duration_ms: 2000, warmup_ms: 500, connections: 50, rate: 1000, threads: 1 },
    skipped: [{ target: 'nginx', reason: 'nginx is not installed' }],
    results,
    ratios: computeRatios(results),
  };
}

describe('report', () => {
  it('writes bench.json in the documented shape and bench.md with ratios', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-report-'));
    try {
      const paths = writeReport(join(dir, 'out'), report());
      const json = JSON.parse(readFileSync(paths.json, 'utf8')) as { machine: Record<string, unknown>; results: Record<string, unknown>[] };
      expect(Object.keys(json.machine).sort()).toEqual(['cores', 'cpu_model', 'node']);
      expect(json.machine.cores).toBeGreaterThan(0);
      expect(json.machine.node).toBe(process.version);
      expect(json.results).toHaveLength(4);
      for (const row of json.results) for (const key of RESULT_KEYS) expect(row, key).toHaveProperty(key);
      expect(json.results[3]).toMatchObject({ mode: 'fixed', rate: 1000 });
      expect(json.results[0]).toMatchObject({ target: 'direct', cpu_s_per_1k: null });

      const md = readFileSync(paths.markdown, 'utf8');
      expect(md).toContain('| scenario | target |');
      expect(md).toMatch(/\| proxy \| haproxy \| bench \| max \| 50 \| - \| 1 \| 40000 \|/);
      expect(md).toContain('| isthmus / haproxy throughput (max) | 0.75 x | >= 0.6 | met |');
      expect(md).toContain('- nginx: nginx is not installed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints an aligned table with ratios and skipped targets', () => {
    const text = formatTable(report());
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+target\s+client\s+mode/);
    expect(lines[1]).toMatch(/^-+ {2}-+/);
    expect(text).toContain('(goal >= 0.6: met)');
    expect(text).toContain('skipped nginx: nginx is not installed');
    expect(formatMarkdown(report())).toContain('Median of 1 interleaved run');
  });
});
