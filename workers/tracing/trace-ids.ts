// Random span and trace ids as lowercase hex, cut from a pool of random bytes
// hex-encoded a few KB at a time (one crypto call and one encode per 512 ids;
// an id is then a slice of that string, not an encode of its own).
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = '';
let offset = POOL_BYTES * 2;

const ZERO64 = '0000000000000000';

/** takes the number of hex digits (16 or 32); returns that many random ones, neither 64-bit half all zeros. */
function randomHex(digits: number): string {
  for (;;) {
    if (offset + digits > POOL_BYTES * 2) {
      randomFillSync(pool);
      hex = pool.toString('hex');
      offset = 0;
    }
    const at = offset;
    offset += digits;
    // Checked in place: a rejected id makes no string.
    if (!hex.startsWith(ZERO64, at) && (digits === 16 || !hex.startsWith(ZERO64, at + 16))) return hex.slice(at, at + digits);
  }
}

/** takes nothing; returns 16 hex digits (64 random bits, never all zeros). */
export function randomId64(): string {
  return randomHex(16);
}

/** takes whether to make a 128-bit id; returns 16 or 32 hex digits (one slice of the pool: no string joined and flattened). */
export function randomTraceId(bits128: boolean): string {
  return randomHex(bits128 ? 32 : 16);
}
