// Random span and trace ids as lowercase hex, from a pool of random bytes
// refilled a few KB at a time (one crypto call per 512 ids, not one per id).
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/** takes nothing; returns 16 hex digits (64 random bits, never all zeros). */
export function randomId64(): string {
  for (;;) {
    if (offset + 8 > POOL_BYTES) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = pool.toString('hex', offset, offset + 8);
    offset += 8;
    if (id !== '0000000000000000') return id;
  }
}

/** takes whether to make a 128-bit id; returns 16 or 32 hex digits. */
export function randomTraceId(bits128: boolean): string {
  return bits128 ? randomId64() + randomId64() : randomId64();
}
