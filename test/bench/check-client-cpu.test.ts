// `node dist/bench/check-client-cpu.js`: the agent's Check client CPU per
// Check by itself, beside bare node:http2 streams, against a real trivial
// node:http2 server process. Only the shape of what it prints is asserted
// (CPU figures are the bench's business, not a test's).
import { describe, expect, it } from 'vitest';
import { runBenchScript } from './run-script.js';

describe('check-client-cpu', () => {
  it('prints per round and the median CPU per Check for PolicyClient and bare node:http2, and exits 0', async () => {
    const r = await runBenchScript('check-client-cpu', ['--calls', '300', '--rounds', '2', '--concurrency', '4']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^round 1: PolicyClient \d+\.\d µs, bare node:http2 \d+\.\d µs of client CPU per Check \(300 Checks, 4 in flight\)$/m);
    expect(r.stdout).toMatch(/^round 2: /m);
    expect(r.stdout).toMatch(/^median: PolicyClient \d+\.\d µs, bare node:http2 \d+\.\d µs per Check$/m);
  }, 60_000);

  it('refuses a count that is not a positive integer, naming the option', async () => {
    const r = await runBenchScript('check-client-cpu', ['--calls', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--calls must be a positive integer');
  });
});
