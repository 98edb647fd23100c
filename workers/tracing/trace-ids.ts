// Random span and trace ids as lowercase hex, cut from a pool of random bytes
// hex-encoded a few KB at a time (one crypto call and one encode per 512 ids;
// an id is then a slice of that string, not an encode of its own).
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let hex = '';
let offset = POOL_BYTES * 2;

/** takes nothing; returns 16 hex digits (64 random bits, never all zeros). */
export function randomId64(): string {
  for (;;) {
    if (offset + 16 > POOL_BYTES * 2) {
      randomFillSync(pool);
      hex = pool.toString('hex');
      offset = 0;
    }
    const id = hex.slice(offset, offset + 16);
    offset += 16;
    if (id !== '0000000000000000') return id;
  }
}

/** takes whether to make a 128-bit id; returns 16 or 32 hex digits. */
export function randomTraceId(bits128: boolean): string {
  return bits128 ? randomId64() + randomId64() : randomId64();
}
