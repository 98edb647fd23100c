// bench/mesh-alloc.ts end to end (real upstream, the real Isthmus mTLS pair
// with --trace-gc-nvp): one row per sidecar with the heap bytes each
// allocated per request, the scavenges that made and the RSS.
import { describe, expect, it } from 'vitest';
import { runBenchScript, type ScriptRun } from './run-script.js';

function meshAlloc(args: string[]): Promise<ScriptRun> {
  return runBenchScript('mesh-alloc', args);
}

describe('mesh-alloc', () => {
  it('reports heap bytes per request, scavenges and RSS for each sidecar of the mTLS pair', async () => {
    // 3000 round trips make a few young-generation collections in each sidecar (about 1 KB each per request).
    const run = await meshAlloc(['--requests', '3000', '--warmup', '200']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3000 sequential requests through the Isthmus mTLS pair (1 KB answers) after 200 unmeasured; extra node flags: none');
    const rows = run.stdout.split('\n').filter((l) => /^\| 1 \| (client|server) \|/.test(l));
    expect(rows.map((r) => r.split(' | ')[1])).toEqual(['client', 'server']);
    for (const row of rows) {
      const cells = row.split('|').map((c) => c.trim());
      const bytes = Number(cells[3]);
      // Some heap per request (the request's own objects), and far from the megabytes a leak per request would be.
      expect(bytes).toBeGreaterThan(100);
      expect(bytes).toBeLessThan(100_000);
      expect(Number(cells[5])).toBeGreaterThan(0); // scavenges per 1k requests
      expect(cells[8]).toMatch(/^\d+\.\d \/ \d+\.\d$/); // RSS / peak RSS MB
    }
  }, 120_000);

  it('refuses node flags that are not --flag or --flag=value', async () => {
    const run = await meshAlloc(['--node-flags', '--trace-gc rm']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--node-flags: rm is not a --flag or --flag=value');
  }, 30_000);

  it('refuses --bin without a value instead of measuring this checkout\'s sidecars', async () => {
    const run = await meshAlloc(['--requests', '100', '--warmup', '0', '--bin']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--bin needs a value');
  }, 60_000);
});
