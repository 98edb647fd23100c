import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { comparisons, computeRatios } from '../../bench/ratios.js';
import { formatHtml } from '../../bench/html-report.js';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs } from '../../bench/latency-histogram.js';
import { formatMarkdown, formatTable, machineInfo, writeReport, type BenchReport } from '../../bench/report.js';
import { aggregateRuns } from '../../bench/result-row.js';
import { sample } from './sample-row.js';

const RESULT_KEYS = [
  'scenario', 'target', 'mode', 'connections', 'rate', 'rps', 'p50_ms', 'p90_ms', 'p99_ms', 'p999_ms', 'max_ms', 'errors', 'cpu_s_per_1k', 'peak_rss_mb',
];

function histogramOf(...ms: number[]): string {
  const h = createLatencyHistogram();
  for (let i = 0; i < 1000; i++) recordLatencyMs(h, ms[i % ms.length]!);
  return encodeHistogram(h);
}

function report(): BenchReport {
  const results = aggregateRuns([
    sample({ scenario: 'direct', target: 'direct', label: 'direct', rps: 50_000, cpu_s_per_1k: null, peak_rss_mb: null, histogram: histogramOf(0.3, 0.5) }),
    sample({ rps: 30_000, histogram: histogramOf(1, 2, 9) }),
    sample({ target: 'haproxy', rps: 40_000, histogram: histogramOf(0.8, 1.5) }),
    sample({ mode: 'fixed', rate: 1000, rps: 1000, histogram: histogramOf(0.4) }),
  ]);
  return {
    machine: machineInfo(),
    date: '2026-11-25T16:00:00.000Z',
    command: 'isthmus bench --quick',
    settings: { runs: 1, duration_ms: 2000, warmup_ms: 500, connections: 50, rate: 1000, threads: 1 },
    skipped: [{ target: 'nginx', reason: 'nginx is not installed' }],
    results,
    ratios: computeRatios(results),
    comparisons: comparisons(results),
    parser: [
      { scenario: 'parser', head: 'minimal GET', head_bytes: 40, headers: 1, parser: 'isthmus native (offsets)', ns_per_parse: 200 },
      { scenario: 'parser', head: 'minimal GET', head_bytes: 40, headers: 1, parser: 'llhttp wasm as undici runs it', ns_per_parse: 900 },
    ],
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
      expect(md).toMatch(/\| proxy \| haproxy \| haproxy \| max \| 50 \| - \| 1 \| 40000 \|/);
      expect(md).toContain('| proxy | isthmus 1w | max | direct | 0.6 |');
      expect(md).toContain('| proxy | isthmus 1w | max | haproxy | 0.75 |');
      expect(md).toContain('| minimal GET | 40 | 1 | llhttp wasm as undici runs it | 900 | 4.5 x |');
      expect(json.results[1]).toHaveProperty('spread');
      expect((json.results[1] as { spectrum: unknown[] }).spectrum.length).toBeGreaterThan(3);
      expect(readFileSync(paths.html, 'utf8')).toMatch(/^<!doctype html>/);
      expect(md).toContain('| isthmus / haproxy throughput (max) | 0.75 x | >= 0.9 | NOT met |');
      expect(md).toContain('- nginx: nginx is not installed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prints an aligned table with ratios and skipped targets', () => {
    const text = formatTable(report());
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^scenario\s+target\s+row\s+mode/);
    expect(lines[1]).toMatch(/^-+ {2}-+/);
    expect(text).toContain('(goal >= 0.9: NOT met)');
    expect(text).toContain('skipped nginx: nginx is not installed');
    expect(formatMarkdown(report())).toContain('Median of 1 interleaved run');
  });

  it('draws bench.html self-contained: a spectrum per scenario and mode, one line per row, and bars', () => {
    const html = formatHtml(report());
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)|<link|@import|url\(/);
    const spectra = html.match(/<svg class="spectrum"[\s\S]*?<\/svg>/g) ?? [];
    expect(spectra).toHaveLength(3); // direct max, proxy max, proxy fixed
    const proxyMax = spectra.find((svg) => svg.includes('proxy: latency by percentile, max'))!;
    const lines = proxyMax.match(/<polyline [^>]*points="([^"]+)"/g) ?? [];
    expect(lines).toHaveLength(2); // isthmus 1w and haproxy
    for (const tick of ['0%', '90%', '99%', '99.9%']) expect(proxyMax).toContain(`>${tick}<`);
    // The isthmus line ends higher (9 ms max) than haproxy's (1.5 ms): smaller y is higher on screen.
    const lastY = (line: string): number => Number(/points="[^"]* ([\d.]+),([\d.]+)"/.exec(line)![2]);
    expect(lastY(lines[0]!)).toBeLessThan(lastY(lines[1]!));
    const bars = [...html.matchAll(/<rect class="bar" [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(bars.length).toBeGreaterThanOrEqual(3 + 2 + 2 + 2); // throughput 3, cpu 2+, rss 2, parser 2
    for (const width of bars) expect(width).toBeGreaterThan(0);
    expect(html).toContain('nginx: nginx is not installed');
  });
});
