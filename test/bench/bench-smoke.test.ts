// The bench suite end to end: `isthmus bench direct proxy --quick` through the
// real CLI (real upstream, real proxies, peers when installed), then bench.json
// checked field by field and bench.html opened in headless Chromium (Debian's
// `chromium` package, driven by playwright-core) to see the charts drawn.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const CHROMIUM = '/usr/bin/chromium';
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const RESULT_FIELDS = ['scenario', 'target', 'mode', 'connections', 'rate', 'rps', 'p50_ms', 'p90_ms', 'p99_ms', 'p999_ms', 'max_ms', 'errors', 'cpu_s_per_1k', 'peak_rss_mb'];

interface Row {
  scenario: string;
  target: string;
  label: string;
  client: string;
  mode: string;
  connections: number;
  rate: number | null;
  rps: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  errors: number;
  cpu_s_per_1k: number | null;
  peak_rss_mb: number | null;
  spectrum: [number, number][];
  spread: Record<string, [number, number]>;
}

let run: { code: number | null; stdout: string; stderr: string; ms: number };

beforeAll(async () => {
  const started = Date.now();
  run = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['bin/isthmus.js', 'bench', 'direct', 'proxy', '--quick', '--duration', '1s', '--warmup', '300ms', '--out', out],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}, 90_000);

describe('isthmus bench direct proxy --quick', () => {
  it('finishes and writes a complete bench.json', () => {
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as {
      machine: { cores: number; cpu_model: string; node: string };
      results: Row[];
      skipped: { target: string; reason: string }[];
    };
    expect(report.machine.cores).toBeGreaterThan(0);
    expect(report.machine.cpu_model).not.toBe('');
    expect(report.machine.node).toBe(process.version);
    const bench = report.results.filter((r) => r.client === 'isthmus-bench');
    const labels = bench.map((r) => `${r.scenario}/${r.label}/${r.mode}`);
    for (const expected of ['direct/direct/max', 'direct/direct/fixed', 'proxy/isthmus 1w/max', 'proxy/isthmus 1w/fixed', 'proxy/isthmus 2w/max']) {
      expect(labels).toContain(expected);
    }
    // Peers run when installed, and are named as skipped when not.
    for (const peer of ['nginx', 'haproxy']) {
      const measured = bench.some((r) => r.target === peer);
      const skipped = report.skipped.some((s) => s.target === `proxy/${peer}` && s.reason.includes('not installed'));
      expect(measured || skipped, `${peer} neither measured nor skipped`).toBe(true);
    }
    for (const row of report.results) {
      for (const field of RESULT_FIELDS) expect(row, `${row.label} ${field}`).toHaveProperty(field);
      expect(['direct', 'isthmus', 'nginx', 'haproxy']).toContain(row.target);
      expect(['max', 'fixed']).toContain(row.mode);
      expect(row.rps, row.label).toBeGreaterThan(0);
      expect(row.errors, `${row.label} ${row.mode}`).toBe(0);
      expect(row.p50_ms).toBeGreaterThan(0);
      expect(row.p50_ms).toBeLessThanOrEqual(row.p90_ms);
      expect(row.p90_ms).toBeLessThanOrEqual(row.p99_ms);
      expect(row.p99_ms).toBeLessThanOrEqual(row.max_ms);
      expect(row.spectrum.length, row.label).toBeGreaterThan(5);
      if (row.client === 'wrk') continue;
      expect(row.p99_ms).toBeLessThanOrEqual(row.p999_ms);
      expect(row.p999_ms).toBeLessThanOrEqual(row.max_ms);
      expect(row.spread.rps).toEqual([row.rps, row.rps]); // one run: min = max = median
      if (row.mode === 'fixed') expect(row.rps).toBeGreaterThanOrEqual(990);
      if (row.target === 'direct') {
        expect(row.cpu_s_per_1k).toBeNull();
        expect(row.peak_rss_mb).toBeNull();
      } else {
        expect(row.cpu_s_per_1k!).toBeGreaterThan(0);
        expect(row.cpu_s_per_1k!).toBeLessThan(5);
        expect(row.peak_rss_mb!).toBeGreaterThan(1);
        expect(row.peak_rss_mb!).toBeLessThan(2000);
      }
    }
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).toContain('| proxy | isthmus 1w | max | direct |');
    // The access log's deciding measure: paired CPU rounds of the 1-worker proxy with the log off and on.
    const alog = (
      report as {
        access_log_cpu?: {
          rounds: number; off_us: { median: number }; on_us: { median: number }; added_us: { median: number };
          control_us: { median: number } | null; mode: string; verdict: string;
        };
      }
    ).access_log_cpu;
    expect(alog, 'bench.json has no access_log_cpu').toBeDefined();
    expect(alog!.rounds).toBe(2);
    expect(alog!.off_us.median).toBeGreaterThan(0);
    expect(alog!.on_us.median).toBeGreaterThan(0);
    expect(alog!.added_us.median).toBeCloseTo(alog!.on_us.median - alog!.off_us.median, 6); // two rounds: each median is their mean
    expect(['met', 'not met', 'unsettled']).toContain(alog!.verdict);
    // Rows at the same time by default, beside a second log-off proxy whose difference from the first is the noise floor.
    expect(alog!.mode).toBe('together');
    expect(Number.isFinite(alog!.control_us?.median), 'no A/A control row').toBe(true);
    expect(run.stdout).toMatch(/A\/A control, a second log-off proxy - off per round: [\d.-]+ µs/);
    expect(run.stdout).toMatch(/access log cost, on - off per round: [\d.-]+ µs .*goal <= 2 µs: (met|not met|unsettled)/);
  });

  it('bench.html renders in headless Chromium with its charts drawn, offline and without errors', async () => {
    // One spectrum line per result row (peers and wrk only where installed); bars: req/s per max row, CPU per proxy row, RSS per max proxy row.
    const rows = (JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as { results: Row[] }).results;
    const expectedLines = rows.length;
    const expectedBars = rows.filter((r) => r.mode === 'max').length + rows.filter((r) => r.cpu_s_per_1k !== null).length +
      rows.filter((r) => r.mode === 'max' && r.peak_rss_mb !== null).length;
    expect(expectedLines).toBeGreaterThanOrEqual(5); // direct max + fixed, isthmus 1w max + fixed, isthmus 2w max
    if (!existsSync(CHROMIUM)) {
      // npm install cannot bring a browser (.ci/run installs Debian's chromium): check the drawing is in the file instead.
      console.warn(`${CHROMIUM} not found (apt-get install -y chromium): checking bench.html's SVG without rendering it`);
      const html = readFileSync(join(out, 'bench.html'), 'utf8');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=["']?https?:/);
      expect(html.match(/<svg[^>]*class="spectrum"/g)?.length).toBe(4);
      const series = [...html.matchAll(/<polyline[^>]*class="series"[^>]*points="([^"]*)"/g)].map((m) => m[1]!.trim().split(/\s+/).length);
      expect(series.length).toBe(expectedLines);
      expect(html.match(/<rect class="bar"/g)?.length).toBe(expectedBars);
      for (const points of series) expect(points).toBeGreaterThan(5);
      return;
    }
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('request', (request) => requests.push(request.url()));
      const url = pathToFileURL(join(out, 'bench.html')).href;
      await page.goto(url, { waitUntil: 'load' });
      // Runs in the page (a string: this project's TypeScript has no DOM types).
      const drawn = (await page.evaluate(`(() => {
        const lines = [...document.querySelectorAll('svg.spectrum polyline.series')].map((line) => {
          const box = line.getBBox();
          return { points: (line.getAttribute('points') || '').trim().split(/\\s+/).length, width: box.width, height: box.height };
        });
        const bars = [...document.querySelectorAll('svg.bars rect.bar')].map((rect) => rect.getBBox().width);
        return { spectra: document.querySelectorAll('svg.spectrum').length, lines, bars, title: document.title };
      })()`)) as { spectra: number; lines: { points: number; width: number; height: number }[]; bars: number[]; title: string };
      expect(drawn.title).toMatch(/^Isthmus bench/);
      // direct max, direct fixed, proxy max, proxy fixed
      expect(drawn.spectra).toBe(4);
      expect(drawn.lines.length).toBe(expectedLines);
      for (const line of drawn.lines) {
        expect(line.points).toBeGreaterThan(5);
        expect(line.width).toBeGreaterThan(100);
        expect(line.height).toBeGreaterThan(0);
      }
      expect(drawn.bars.length).toBe(expectedBars);
      for (const width of drawn.bars) expect(width).toBeGreaterThan(0);
      expect(problems).toEqual([]);
      expect(requests).toEqual([url]);
    } finally {
      await browser.close();
    }
  }, 30_000);
});
