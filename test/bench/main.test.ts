// Smoke test of `isthmus bench`: a tiny direct-only run through the real CLI, real upstream process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('isthmus bench', () => {
  it('runs a quick direct-only bench and writes bench.json and bench.md', () => {
    const run = spawnSync(
      process.execPath,
      ['bin/isthmus.js', 'bench', 'direct', '--quick', '--duration', '1s', '--warmup', '200ms', '--connections', '10', '--fixed-connections', '4', '--out', out],
      { cwd: root, encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^scenario\s+target/m);
    const report = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as {
      machine: { cores: number };
      settings: { runs: number };
      results: { scenario: string; target: string; mode: string; rps: number; errors: number; connections: number; rate: number | null }[];
    };
    expect(report.settings.runs).toBe(1);
    const bench = report.results.filter((r) => (r as { client?: string }).client !== 'wrk');
    expect(bench.map((r) => `${r.scenario}/${r.target}/${r.mode}`)).toEqual(['direct/direct/max', 'direct/direct/fixed']);
    const [max, fixed] = bench;
    expect(max!.rps).toBeGreaterThan(1000);
    expect(max!.errors).toBe(0);
    expect(max!.connections).toBe(10);
    expect(fixed!.rate).toBe(1000);
    expect(fixed!.connections).toBe(4); // the fixed rate has its own count (fortio's -c), max mode keeps --connections
    expect(fixed!.rps).toBeGreaterThanOrEqual(990);
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).toContain('| direct | direct | direct | fixed | 4 | 1000 | 1 |');
  }, 40_000);

  it('`bench ca` signs CSRs in process, exits 0 and writes its figure to bench.json', () => {
    const caOut = join(out, 'ca');
    const run = spawnSync(process.execPath, ['bin/isthmus.js', 'bench', 'ca', '--duration', '600ms', '--out', caOut],
      { cwd: root, encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr + run.stdout).toMatch(/bench: ca: \d+ CSRs signed per second on one thread/);
    const report = JSON.parse(readFileSync(join(caOut, 'bench.json'), 'utf8')) as { ca?: { csrs_per_s: number; csrs_per_cpu_s: number; goal: number } };
    expect(report.ca?.csrs_per_s).toBeGreaterThan(0);
    expect(report.ca?.csrs_per_cpu_s).toBeGreaterThan(0);
    expect(report.ca?.goal).toBe(2000);
  }, 40_000);

  it('rejects an unknown scenario and a bad option, naming them', () => {
    const unknown = spawnSync(process.execPath, ['bin/isthmus.js', 'bench', 'envoy'], { cwd: root, encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown scenario 'envoy' (choose from direct, proxy, mesh, reload, xds, parser, resilience, policy, uws-front, tls, ca, tcp, h2, authz, tracing, report)");
    const bad = spawnSync(process.execPath, ['bin/isthmus.js', 'bench', '--runs', 'three'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--runs');
  });
});
