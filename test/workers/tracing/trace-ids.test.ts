// Random span and trace ids: lowercase hex of the asked width, cut from a
// refilled pool, never all zeros (nor a 128-bit id with a zero half, which
// peers would read as a 64-bit id), and not repeating.
import { describe, expect, it } from 'vitest';
import { randomId64, randomTraceId } from '../../../workers/tracing/trace-ids.js';

describe('trace ids', () => {
  it('makes 64-bit and 128-bit ids of the right shape across pool refills, all distinct', () => {
    const seen = new Set<string>();
    // 4096 random bytes a pool (8192 digits): 5,000 rounds of 64 digits refill it about 40 times.
    for (let i = 0; i < 5_000; i++) {
      const span = randomId64();
      const trace64 = randomTraceId(false);
      const trace128 = randomTraceId(true);
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(trace64).toMatch(/^[0-9a-f]{16}$/);
      expect(trace128).toMatch(/^[0-9a-f]{32}$/);
      expect(trace128.slice(0, 16)).not.toBe('0000000000000000');
      expect(trace128.slice(16)).not.toBe('0000000000000000');
      seen.add(span).add(trace64).add(trace128);
    }
    expect(seen.size).toBe(15_000);
  });
});
