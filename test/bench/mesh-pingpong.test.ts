// bench/mesh-pingpong.ts end to end (real upstream, a real Isthmus sidecar):
// the warm-up round trips are not measured (the sidecar's JIT warm-up once
// sat inside the first measured rounds and made the pair's p99), --only starts
// just the named path, and --dump writes every measured round trip.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBenchScript, type ScriptRun } from './run-script.js';

const out = mkdtempSync(join(tmpdir(), 'pingpong-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function pingpong(args: string[]): Promise<ScriptRun> {
  return runBenchScript('mesh-pingpong', args);
}

describe('mesh-pingpong', () => {
  it('measures only after the warm-up and dumps every measured round trip of the paths asked for', async () => {
    const dump = join(out, 'trips.csv');
    const run = await pingpong(['--only', 'isthmus x1', '--rounds', '3', '--requests', '40', '--warmup', '120', '--dump', dump]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 rounds x 40 sequential requests per target (1 KB answers), after 120 unmeasured');
    const [whole, byRound] = run.stdout.split('median over the 3 rounds');
    const rows = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| path') && !l.startsWith('| ---'));
    expect(rows(whole!).map((l) => l.split(' | ')[0])).toEqual(['| direct', '| isthmus x1']);
    // the last column: round trips over 1 ms, one count per round
    for (const row of rows(whole!)) expect(row).toMatch(/\| \d+ \d+ \d+ \|$/);
    expect(rows(byRound!)).toHaveLength(1);
    expect(rows(byRound!)[0]).toMatch(/^\| isthmus x1 \| -?\d+\.\d{3} \| -?\d+\.\d{3} \| -?\d+\.\d{3} \|$/);
    const pids = /^pids: bench=(\d+) upstream=(\d+) isthmus \(1 worker\)=(\d+)$/m.exec(run.stdout);
    expect(pids).not.toBeNull();

    const [header, ...lines] = readFileSync(dump, 'utf8').trim().split('\n');
    expect(header).toBe('target,round,seq,at_ms,latency_ms');
    const trips = lines.map((l) => l.split(','));
    for (const target of ['direct', 'isthmus x1']) {
      const mine = trips.filter((t) => t[0] === target);
      // exactly the measured ones: 3 rounds of 40, none of the 120 warm-up trips
      expect(mine.length).toBe(120);
      expect(mine.map((t) => `${t[1]}/${t[2]}`)).toEqual([0, 1, 2].flatMap((r) => Array.from({ length: 40 }, (_, i) => `${r}/${i}`)));
      for (const t of mine) expect(Number(t[4])).toBeGreaterThan(0);
      const starts = mine.map((t) => Number(t[3]));
      for (let i = 1; i < starts.length; i++) expect(starts[i]).toBeGreaterThan(starts[i - 1]!);
    }
  }, 90_000);

  it('--interleave trips times one round trip per target in turn; --mtls-flags adds an mTLS pair run with those node flags', async () => {
    const run = await pingpong([
      '--only', 'isthmus x1', '--interleave', 'trips', '--rounds', '3', '--requests', '30', '--warmup', '60',
      '--mtls-flags', 'nopar=--no-parallel-scavenge',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 rounds x 30 sequential requests per target (1 KB answers), after 60 unmeasured, one round trip per target in turn');
    const [whole] = run.stdout.split('median over the 3 rounds');
    const names = whole!.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| path') && !l.startsWith('| ---')).map((l) => l.split(' | ')[0]);
    expect(names).toEqual(['| direct', '| isthmus x1', '| isthmus x2 mTLS nopar']);
  }, 90_000);

  it('refuses --mtls-flags that are not NAME=--flags and an --interleave it does not know', async () => {
    const bad = await pingpong(['--only', 'isthmus x1', '--mtls-flags', 'x=rm -rf']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("--mtls-flags: 'x=rm -rf' is not NAME=--flag --flag=value");
    const mode = await pingpong(['--interleave', 'sometimes']);
    expect(mode.code).toBe(1);
    expect(mode.stderr).toContain('--interleave must be rounds or trips');
  }, 30_000);

  it('names the paths it knows when --only names another', async () => {
    const run = await pingpong(['--only', 'envoy x2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--only: unknown path envoy x2 (paths: isthmus x2, isthmus x1, isthmus x2 mTLS, haproxy x2 mTLS)');
  }, 30_000);
});
