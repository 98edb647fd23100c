// The open streams of one HTTP/2 session by stream id, in place of a Map. A Map whose keys keep changing (a
// stream opened and closed per request) rebuilds its hash table every time its deleted entries fill it: some
// 250 bytes per request over the downstream and upstream sessions' maps under h2load, and those tables are young
// objects that live across a scavenge, so under --optimize-for-size they are promoted and marked again
// (HeapProfiler sampling, bench/h2-gc-count.ts). This table is open addressing with linear probing over a
// power-of-two array: stream ids of one side are odd and increasing, so (id >> 1) puts the streams in flight in
// consecutive slots; deletion shifts the run back (no tombstones), so a steady number of streams allocates
// nothing. It grows (doubling) at half full and never shrinks: its size follows the most streams open at once,
// which nghttp2 bounds by SETTINGS_MAX_CONCURRENT_STREAMS on each side.

const MIN_CAPACITY = 16;

export class StreamIdTable<T extends object> {
  /** Stream ids; 0 (never a stream's id) marks a free slot. */
  private keys = new Int32Array(MIN_CAPACITY);
  private vals: (T | undefined)[] = emptySlots<T>(MIN_CAPACITY);
  private mask = MIN_CAPACITY - 1;
  size = 0;

  get(id: number): T | undefined {
    const keys = this.keys;
    const mask = this.mask;
    for (let i = (id >>> 1) & mask; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === id) return this.vals[i];
      if (k === 0) return undefined;
    }
  }

  /** Adds or replaces the stream of `id` (a positive 31-bit stream id). */
  set(id: number, value: T): void {
    if (!((id | 0) === id && id > 0)) throw new RangeError(`stream id ${id} is not a positive 31-bit integer`);
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = this.mask;
    let i = (id >>> 1) & mask;
    for (; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === id) break;
      if (k === 0) {
        keys[i] = id;
        this.size++;
        break;
      }
    }
    this.vals[i] = value;
  }

  delete(id: number): boolean {
    const keys = this.keys;
    const vals = this.vals;
    const mask = this.mask;
    let i = (id >>> 1) & mask;
    for (; ; i = (i + 1) & mask) {
      const k = keys[i]!;
      if (k === id) break;
      if (k === 0) return false;
    }
    // Backward shift: each later entry of the run whose home slot is not in (i, j] moves into the hole.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = keys[j]!;
      if (k === 0) break;
      const home = (k >>> 1) & mask;
      const stays = i <= j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      keys[i] = k;
      vals[i] = vals[j];
      i = j;
    }
    keys[i] = 0;
    vals[i] = undefined;
    this.size--;
    return true;
  }

  /** The streams held, oldest (lowest id) first: a new array, for a session's close. */
  values(): T[] {
    const ids: number[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== 0) ids.push(this.keys[i]!);
    ids.sort((a, b) => a - b);
    return ids.map((id) => this.get(id)!);
  }

  clear(): void {
    this.keys.fill(0);
    this.vals.fill(undefined);
    this.size = 0;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const capacity = oldKeys.length * 2;
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
