// Signing is rate-limited per bootstrap token: a token bucket per token id,
// in a map bounded by count (the least recently used bucket goes first), so
// a leaked token cannot make the CA sign without limit and many tokens
// cannot grow the map without limit.

export interface RateLimit {
  /** Requests allowed at once. */
  readonly burst: number;
  /** Requests added back per second. */
  readonly perSecond: number;
}

export const DEFAULT_CSR_RATE_LIMIT: RateLimit = { burst: 10, perSecond: 1 };
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limit: RateLimit = DEFAULT_CSR_RATE_LIMIT, private readonly maxBuckets = MAX_BUCKETS) {}

  /** takes a token id; returns true when one more request may go now (and counts it). */
  take(id: string, now = Date.now()): boolean {
    let b = this.buckets.get(id);
    if (b === undefined) {
      b = { tokens: this.limit.burst, at: now };
      if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
    } else {
      this.buckets.delete(id); // re-inserted below: the Map's order is least recently used first
      b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
      b.at = now;
    }
    this.buckets.set(id, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
