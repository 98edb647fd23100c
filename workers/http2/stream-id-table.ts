// The open streams of one HTTP/2 session by stream id, in place of a Map. A Map whose keys keep changing (a
// stream opened and closed per request) rebuilds its hash table every time its deleted entries fill it: some
// 250 bytes per request over the downstream and upstream sessions' maps under h2load, and those tables are young
// objects that live across a scavenge, so under --optimize-for-size they are promoted and marked again
// (HeapProfiler sampling, bench/h2-gc-count.ts). This table is open addressing with linear probing over a
// power-of-two array. A stream's home slot is its id mixed with a salt drawn per process (murmur3's finalizer, a
// one-to-one 32-bit mix): a side's odd, increasing ids spread evenly, and a client, who picks its stream ids, cannot
// know which ids share a slot (with the plain low bits, ids spaced by twice the table's size all landed in one slot,
// and each of n such streams cost a scan of the n before it). Robin Hood placement with backward-shift deletion (no tombstones):
// a lookup or a delete stops at the first entry nearer its home than the key would be, so a long run of streams
// costs no scan (plain linear probing rescanned the run on every delete: quadratic for a burst of 100k streams),
// and a steady number of streams allocates nothing. It grows (doubling) at half full, and shrinks to a quarter
// once under an eighth full past SHRINK_FROM slots: a burst of streams (nghttp2 bounds them by
// SETTINGS_MAX_CONCURRENT_STREAMS, which a config may set to 2^31-1) does not leave its table behind, and a table
// of a few hundred slots never flips between sizes.

import { randomBytes } from 'node:crypto';

const MIN_CAPACITY = 16;
/** Secret, so a peer cannot aim its stream ids at one home slot. */
const SALT = randomBytes(4).readInt32LE(0);
/** Tables up to this many slots (4 KiB of values) never shrink. */
const SHRINK_FROM = 512;

export class StreamIdTable<T extends object> {
  /** Stream ids; 0 (never a stream's id) marks a free slot. */
  private keys = new Int32Array(MIN_CAPACITY);
  private vals: (T | undefined)[] = emptySlots<T>(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  size = 0;

  get(id: number): T | undefined {
    const i = this.slotOf(id);
    return i < 0 ? undefined : this.vals[i];
  }

  /** Adds or replaces the stream of `id` (a positive 31-bit stream id). */
  set(id: number, value: T): void {
    if (!((id | 0) === id && id > 0)) throw new RangeError(`stream id ${id} is not a positive 31-bit integer`);
    const found = this.slotOf(id);
    if (found >= 0) {
      this.vals[found] = value;
      return;
    }
    if ((this.size + 1) * 2 > this.keys.length) this.resize(this.keys.length * 2);
    this.size++;
    // Robin Hood: an entry nearer its home than the one being placed gives up its slot and moves on. Runs stay
    // ordered by distance, which lets get and delete stop early (see slotOf, delete).
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let key = id;
    let val: T | undefined = value;
    let d = 0;
    for (let i = this.home(key); ; i = (i + 1) & mask, d++) {
      const k = keys[i]!;
      if (k === 0) {
        keys[i] = key;
        vals[i] = val;
        return;
      }
      const kd = (i - this.home(k)) & mask;
      if (kd < d) {
        const v = vals[i];
        keys[i] = key;
        vals[i] = val;
        key = k;
        val = v;
        d = kd;
      }
    }
  }

  delete(id: number): boolean {
    let i = this.slotOf(id);
    if (i < 0) return false;
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    // Backward shift: the entries after the hole move back one slot until an empty slot or an entry at its home
    // (distance 0), so deleting a stream followed by one at its home (most are: the table is at most half full)
    // moves nothing.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j]!;
      if (k === 0 || ((j - this.home(k)) & mask) === 0) break;
      keys[i] = k;
      vals[i] = vals[j];
      i = j;
    }
    keys[i] = 0;
    vals[i] = undefined;
    this.size--;
    if (keys.length > SHRINK_FROM && this.size * 8 < keys.length) this.resize(keys.length / 4);
    return true;
  }

  /** The slot a stream id would sit in with nothing before it. */
  private home(id: number): number {
    let h = id ^ SALT;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & this.mask;
  }

  /** The longest distance of a stream from its home slot (what a lookup may scan): for tests. */
  longestProbe(): number {
    let longest = 0;
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i]!;
      if (k !== 0) longest = Math.max(longest, (i - this.home(k)) & this.mask);
    }
    return longest;
  }

  /** The slot holding `id`, or -1. Stops at an empty slot or at an entry nearer its home than `id` would be there. */
  private slotOf(id: number): number {
    const keys = this.keys;
    const mask = this.mask;
    for (let i = this.home(id), d = 0; ; i = (i + 1) & mask, d++) {
      const k = keys[i]!;
      // A free slot first: 0 marks one, so looking up id 0 must not find it (a delete would then count a stream gone).
      if (k === 0) return -1;
      if (k === id) return i;
      if (((i - this.home(k)) & mask) < d) return -1;
    }
  }

  /** The streams held, oldest (lowest id) first: a new array, for a session's close. */
  values(): T[] {
    const ids: number[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== 0) ids.push(this.keys[i]!);
    ids.sort((a, b) => a - b);
    return ids.map((id) => this.get(id)!);
  }

  /** Empties the table back to its first size (a cleared table after a burst would keep the burst's arrays). */
  clear(): void {
    this.keys = new Int32Array(MIN_CAPACITY);
    this.vals = emptySlots<T>(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
    this.size = 0;
  }

  /** Rebuilds the table with `capacity` slots (a power of two, over twice the streams held). */
  private resize(capacity: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    this.keys = new Int32Array(capacity);
    this.vals = emptySlots<T>(capacity);
    this.mask = capacity - 1;
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== 0) this.set(oldKeys[i]!, oldVals[i]!);
  }
}

/** A packed array of `n` undefined (not a holey `new Array(n)`: its loads stay on the fast path). */
function emptySlots<T>(n: number): (T | undefined)[] {
  const a: (T | undefined)[] = [];
  for (let i = 0; i < n; i++) a.push(undefined);
  return a;
}
