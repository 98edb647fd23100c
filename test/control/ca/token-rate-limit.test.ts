// The CA's per-token signing limit, with a fake clock: a burst, then one per
// second; tokens are limited apart; the bucket map stays bounded.
import { describe, expect, it } from 'vitest';
import { TokenRateLimiter } from '../../../control/ca/token-rate-limit.js';

describe('TokenRateLimiter', () => {
  it('allows the burst, then one request per second, per token', () => {
    const limiter = new TokenRateLimiter({ burst: 3, perSecond: 1 });
    const t = 1_000_000;
    expect([1, 2, 3, 4].map(() => limiter.take('a', t))).toEqual([true, true, true, false]);
    expect(limiter.take('b', t)).toBe(true);
    expect(limiter.take('a', t + 500)).toBe(false);
    expect(limiter.take('a', t + 1000)).toBe(true);
    expect(limiter.take('a', t + 1000)).toBe(false);
  });

  it('keeps at most maxBuckets tokens, forgetting the least recently used', () => {
    const limiter = new TokenRateLimiter({ burst: 1, perSecond: 0 }, 2);
    expect(limiter.take('a', 0)).toBe(true);
    expect(limiter.take('b', 0)).toBe(true);
    expect(limiter.take('c', 0)).toBe(true); // 'a' is forgotten
    expect(limiter.take('b', 0)).toBe(false);
    expect(limiter.take('a', 0)).toBe(true); // a fresh bucket (bounded memory beats remembering every token)
  });
});
