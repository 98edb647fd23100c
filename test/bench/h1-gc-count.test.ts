// bench/h1-gc-count.ts end to end (real upstream, the real proxy with one worker and its access log on): the heap
// bytes a plaintext HTTP/1.1 request allocates and the young collections that makes. The bytes come from V8's
// own count (--trace-gc-nvp), not from time, so the bound holds on a loaded machine.
import { describe, expect, it } from 'vitest';
import { runBenchScript } from './run-script.js';

describe('h1-gc-count', () => {
  it('counts under 1,000 heap bytes and a few young collections per HTTP/1.1 request through one worker', async () => {
    const run = await runBenchScript('h1-gc-count', ['3000', '20000', '1', 'new=.']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const m = /^round 1 new: ([\d.]+) young and ([\d.]+) full collections per 10k requests, (\d+) bytes allocated per request \(\d+\/\d+ in 20000 after 3000; \{"completed":20000,"non2xx":0,/m.exec(run.stdout);
    expect(m, run.stdout).not.toBeNull();
    // About 1,150-1,230 before the request's rarely set fields moved to a side object, about 790-820 after (no pointer
    // compression: 8 bytes a field); the young generation is 1 MB, so that is ~9 scavenges per 10k requests.
    expect(Number(m![3])).toBeGreaterThan(200);
    expect(Number(m![3])).toBeLessThan(1000);
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![1])).toBeLessThan(13);
  }, 120_000);

  it('refuses a build not given as NAME=CHECKOUT', async () => {
    const run = await runBenchScript('h1-gc-count', ['100', '100', '1', '.']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: h1-gc-count.js WARM N ROUNDS NAME=CHECKOUT');
  }, 30_000);
});
