// Smoke test of `isthmus bench xds` through the real CLI: a real `isthmus control` process,
// 20 simulated sidecars in worker threads, VirtualService changes, bench.json/bench.md rows.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { XdsResultRow } from '../../bench/xds-result-row.js';

const root = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'bench-xds-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: string[], dir: string): { status: number | null; stdout: string; stderr: string; row: XdsResultRow } {
  const run = spawnSync(process.execPath, ['bin/isthmus.js', 'bench', 'xds', ...args, '--out', dir], { cwd: root, encoding: 'utf8', timeout: 40_000 });
  const report = JSON.parse(readFileSync(join(dir, 'bench.json'), 'utf8')) as { results: unknown[]; xds: XdsResultRow[] };
  expect(report.results).toEqual([]); // xds alone starts no proxy
  expect(report.xds).toHaveLength(1);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, row: report.xds[0]! };
}

describe('isthmus bench xds', () => {
  it('times a VirtualService change reaching 20 state-of-the-world sidecars through the control process', () => {
    const dir = join(out, 'sotw');
    const { status, stdout, stderr, row } = runBench(['--clients', '20', '--changes', '2', '--xds-threads', '2'], dir);
    expect(status, stderr).toBe(0);
    expect(row).toMatchObject({ scenario: 'xds', protocol: 'sotw', clients: 20, changes: 2, connected: 20, acked: 20, stream_errors: 0 });
    expect(row.per_change.map((c) => c.acked)).toEqual([20, 20]);
    // The change goes through the folder watcher (100 ms) and the push debounce (100 ms): it cannot be faster.
    expect(row.p50_ms!).toBeGreaterThanOrEqual(200);
    expect(row.p99_ms!).toBeGreaterThanOrEqual(row.p50_ms!);
    expect(row.all_acked_ms).toBe(row.max_ms);
    expect(row.connect_all_ms!).toBeGreaterThan(0);
    expect(row.control_peak_rss_mb).toBeGreaterThan(30);
    expect(row.control_cpu_s_changes!).toBeGreaterThan(0);
    expect(stdout).toMatch(/^xds\s+sotw\s+20\s+2\s+20\s/m);
    expect(readFileSync(join(dir, 'bench.md'), 'utf8')).toMatch(/\| xds \| sotw \| 20 \| 2 \| 20 \|/);
  }, 45_000);

  it('does the same over delta xDS', () => {
    const { status, stderr, row } = runBench(['--clients', '20', '--changes', '1', '--xds-protocol', 'delta'], join(out, 'delta'));
    expect(status, stderr).toBe(0);
    expect(row).toMatchObject({ protocol: 'delta', connected: 20, acked: 20, changes: 1, stream_errors: 0 });
  }, 45_000);

  it('rejects a bad protocol, naming the flag', () => {
    const run = spawnSync(process.execPath, ['bin/isthmus.js', 'bench', 'xds', '--xds-protocol', 'rest'], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--xds-protocol');
  });
});
