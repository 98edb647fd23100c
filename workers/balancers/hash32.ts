// The one string hash of the load balancers: MurmurHash3 (x86, 32-bit) over a
// string's UTF-16 code units, two per block. Ring points, Maglev permutations
// and request hashes all use it, so every worker (and every proxy) places the
// same key on the same endpoint. No BigInt, no allocation.

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

export function hashString(s: string, seed = 0): number {
  let h = seed | 0;
  const n = s.length;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    let k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < n) {
    let k = s.charCodeAt(i);
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= n * 2;
  return fmix(h);
}

/** MurmurHash3's finalizer: a full-avalanche mix of a 32-bit value. */
export function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Envoy's rule for several hash policies: rotate what we have left by one bit, xor in the next (duplicates do not cancel out). */
export function combineHash(previous: number, next: number): number {
  return (((previous << 1) | (previous >>> 31)) ^ next) >>> 0;
}

/** A uniform 32-bit value, for hash balancers when the request produced no hash (Envoy picks at random then). */
export function randomHash(): number {
  return (Math.random() * 4294967296) >>> 0;
}
