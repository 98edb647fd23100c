// A rate-limit counter over a rolling window: the window is cut into ten
// buckets, and an amount counts until its bucket falls out of the window, so
// a limit of N per window never lets 2N through at a window boundary (a fixed
// window would) and spent quota comes back a tenth of the window at a time.
export const WINDOW_BUCKETS = 10;

export class RollingWindow {
  private readonly counts = new Float64Array(WINDOW_BUCKETS);
  private readonly bucketMs: number;
  private lastBucket = -Infinity;
  private total = 0;

  constructor(windowMs: number) {
    this.bucketMs = Math.max(1, windowMs / WINDOW_BUCKETS);
  }

  /** Takes the time now (ms); returns the amount counted within the window ending now. */
  used(nowMs: number): number {
    this.advance(nowMs);
    return this.total;
  }

  /** Takes the time now and an amount; counts it in the current bucket. */
  add(nowMs: number, amount: number): void {
    this.advance(nowMs);
    this.counts[this.lastBucket % WINDOW_BUCKETS] += amount;
    this.total += amount;
  }

  private advance(nowMs: number): void {
    const bucket = Math.floor(nowMs / this.bucketMs);
    if (bucket <= this.lastBucket) return;
    if (bucket - this.lastBucket >= WINDOW_BUCKETS) {
      this.counts.fill(0);
      this.total = 0;
    } else {
      for (let b = this.lastBucket + 1; b <= bucket; b++) {
        const slot = b % WINDOW_BUCKETS;
        this.total -= this.counts[slot];
        this.counts[slot] = 0;
      }
    }
    this.lastBucket = bucket;
  }
}
