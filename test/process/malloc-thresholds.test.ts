// `isthmus proxy` fixes glibc's trim and mmap thresholds at 1 MB
// (src/process/malloc-thresholds.ts), so freeing a large block never raises
// them: memory freed afterwards goes back to the kernel instead of staying
// resident in an arena, and a block between 128 kB and 1 MB is not mapped and
// unmapped each time. Seen from /proc/self/status in a fresh
// process: a 16 MB block freed (glibc would raise the mmap threshold to 16 MB
// and the trim threshold to 32), then a 6 MB block taken and freed.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { setMallocThresholds } from '../../src/native.js';

const MALLOC_THRESHOLDS = new URL('../../dist/src/process/malloc-thresholds.js', import.meta.url).href;

interface Run { readonly fixed: boolean | null; readonly before: number; readonly held: number; readonly after: number }

function blockFreedAfterALargeOne(fix: boolean, env: NodeJS.ProcessEnv = {}): Run {
  const script = `
    import { readFileSync } from 'node:fs';
    const fixed = ${fix} ? (await import(${JSON.stringify(MALLOC_THRESHOLDS)})).fixMallocThresholds() : null;
    const anonMb = () => Number(/RssAnon:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
    const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 30)); } };
    let large = Buffer.alloc(16 << 20); large.fill(1); large = null; await settle();
    const before = anonMb();
    let block = Buffer.allocUnsafeSlow(6 << 20); block.fill(1);
    const held = anonMb();
    block = null; await settle();
    process.stdout.write(JSON.stringify({ fixed, before, held, after: anonMb() }));
    process.exit(0);`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH, ...env } });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Run;
}

describe.skipIf(process.platform !== 'linux')('malloc thresholds', () => {
  it('fixed, a block freed after a large one goes back to the kernel; not fixed, it stays resident', () => {
    const raised = blockFreedAfterALargeOne(false);
    const fixed = blockFreedAfterALargeOne(true);
    expect(fixed.fixed).toBe(true);
    expect(raised.held - raised.before).toBeGreaterThan(5);
    expect(fixed.held - fixed.before).toBeGreaterThan(5);
    expect(raised.after - raised.before).toBeGreaterThan(5); // glibc's raised thresholds keep it
    expect(fixed.after - fixed.before).toBeLessThan(1);
  });

  it("leaves an operator's MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_ or glibc tunable alone", () => {
    expect(blockFreedAfterALargeOne(true, { MALLOC_TRIM_THRESHOLD_: '67108864' }).fixed).toBe(false);
    expect(blockFreedAfterALargeOne(true, { MALLOC_MMAP_THRESHOLD_: '1048576' }).fixed).toBe(false);
    expect(blockFreedAfterALargeOne(true, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=67108864' }).fixed).toBe(false);
  });

  it('keeps blocks between 128 kB and 1 MB in the arena: taking and dropping one is not a fresh mapping each time', () => {
    const script = `
      const { fixMallocThresholds } = await import(${JSON.stringify(MALLOC_THRESHOLDS)});
      const fixed = fixMallocThresholds();
      const { readFileSync } = await import('node:fs');
      const faults = () => Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
      const held = [];
      for (let i = 0; i < 8; i++) held.push(Buffer.allocUnsafeSlow(256 * 1024).fill(1)); // the arena grows once
      held.length = 0; globalThis.gc();
      const before = faults();
      for (let i = 0; i < 200; i++) { const b = Buffer.allocUnsafeSlow(256 * 1024); b.fill(i); held.push(b); if (held.length === 4) { held.length = 0; globalThis.gc({ type: 'minor' }); } }
      process.stdout.write(JSON.stringify({ fixed, faultsPerBlock: (faults() - before) / 200 }));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { fixed: boolean; faultsPerBlock: number };
    expect(out.fixed).toBe(true);
    expect(out.faultsPerBlock).toBeLessThan(16); // a fresh mapping of 256 kB faults 64 pages in
  });

  it('refuses thresholds outside 4 kB-64 MB or not numbers, naming the arguments', () => {
    expect(() => setMallocThresholds(0, 131072)).toThrow(/both must be between 4096 and 67108864/);
    expect(() => setMallocThresholds(131072, 2 ** 40)).toThrow(RangeError);
    expect(() => setMallocThresholds('131072' as unknown as number, 131072)).toThrow(/both must be numbers/);
  });
});
