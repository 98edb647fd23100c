// The sampling decision's random numbers: a per-thread xorshift32 compared
// with an integer threshold, instead of Math.random() * 100 < percent. Every
// traced request draws one (most of them at 1% sampling only this), and
// Math.random is a builtin call with a cache refilled by a runtime call; this
// is a few inlined shifts. Not for ids (trace-ids.ts draws those from crypto
// random bytes): a sampling decision only needs to be uniform and not in
// step with other workers or processes, so the state is seeded from crypto.
import { randomFillSync } from 'node:crypto';

const seed = new Int32Array(1);
do randomFillSync(seed);
while (seed[0] === 0); // xorshift's one fixed point
let state = seed[0]!;

/** 2^32 / 100: a percent as a threshold on a uniform 32-bit draw. */
const PER_PERCENT = 4294967296 / 100;

/** takes a percent (0 to 100; fractions allowed); returns true with that probability (never at 0, always at 100). */
export function sampleAtPercent(percent: number): boolean {
  let x = state;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  state = x;
  // x >>> 0 is uniform over 1..2^32-1; 100% gives a threshold of 2^32, above every draw.
  return x >>> 0 < percent * PER_PERCENT;
}
