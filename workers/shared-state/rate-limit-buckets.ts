// The local rate limit's token buckets and the local rate limit and compressor
// counters, per proxy: one
// SharedArrayBuffer the agent creates and hands to every worker (and to the
// in-thread data plane), read and written with Atomics only, so N workers
// together let through what one bucket allows. A slot is found by a hash of
// its key (the filter config's place and bucket settings, or a stat prefix)
// with linear probing; every worker compiles the same config and so finds the
// same slot, with no message to the agent. Refill is by time, lock-free: the
// worker that moves a bucket's fill period forward (a compare-and-swap) adds
// the tokens for the periods that passed; consuming is a CAS loop on the
// token count. The table is bounded: when it is full a bucket falls back to
// one of this thread only (and says so in the log once).

/** Ints per slot: a 32-byte record. */
const SLOT_INTS = 8;
const HEADER_INTS = 8;
const MAGIC = 0x49524c42; // "IRLB"
const H_MAGIC = 0;
const H_CAPACITY = 1;
/** The table's time origin in seconds since the Unix epoch: fill periods count from it, the same in every thread. */
const H_EPOCH_S = 2;

/** Slot fields. KEY 0 = free; READY turns 1 once the claimer has initialised the rest. */
const KEY = 0;
const READY = 1;
/** Bucket slots. */
const TOKENS = 2;
const PERIOD = 3;
/** Stat slots: http_local_rate_limit.{enabled,enforced,rate_limited,ok}. */
export const STAT = { ENABLED: 2, ENFORCED: 3, RATE_LIMITED: 4, OK: 5 } as const;
/** Compressor stat slots: counts as int32 fields, byte totals as the slot's int64 fields (index base / 2 + field). */
export const COMPRESSOR_STAT = { COMPRESSED: 2, NOT_COMPRESSED: 3, WIDE_UNCOMPRESSED_BYTES: 2, WIDE_COMPRESSED_BYTES: 3 } as const;

export const DEFAULT_RATE_LIMIT_SLOTS = 4096;

/** Takes a slot count; returns the buffer the agent hands to every data plane. */
export function createRateLimitBuffer(slots = DEFAULT_RATE_LIMIT_SLOTS): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer((HEADER_INTS + slots * SLOT_INTS) * 4);
  const ints = new Int32Array(buffer);
  ints[H_CAPACITY] = slots;
  ints[H_EPOCH_S] = Math.floor(Date.now() / 1000);
  ints[H_MAGIC] = MAGIC;
  return buffer;
}

/** FNV-1a over the key's UTF-16 units; never 0 (0 marks a free slot). */
function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h === 0 ? 1 : h | 0;
}

export class RateLimitTable {
  readonly ints: Int32Array;
  /** The same memory as int64s, for byte counters (a slot's ints 4-7 are its wide fields 2 and 3). */
  readonly wide: BigInt64Array;
  private readonly capacity: number;
  readonly epochMs: number;

  constructor(buffer: SharedArrayBuffer) {
    const ints = (this.ints = new Int32Array(buffer));
    this.wide = new BigInt64Array(buffer);
    if (ints.length < HEADER_INTS || ints[H_MAGIC] !== MAGIC) throw new Error('rate limit state: the buffer is not an Isthmus rate limit table');
    this.capacity = ints[H_CAPACITY]!;
    this.epochMs = ints[H_EPOCH_S]! * 1000;
  }

  /**
   * Takes a key and the values to start a new slot with; returns the slot's base index, or -1 when the
   * table is full. Claims the slot when no thread has yet (off the request path: at config compile).
   */
  claim(key: string, init: (ints: Int32Array, base: number) => void): number {
    const hash = keyHash(key);
    const ints = this.ints;
    for (let probe = 0; probe < this.capacity; probe++) {
      const base = HEADER_INTS + ((((hash >>> 0) + probe) % this.capacity) * SLOT_INTS);
      const seen = Atomics.compareExchange(ints, base + KEY, 0, hash);
      if (seen === 0) {
        init(ints, base);
        Atomics.store(ints, base + READY, 1);
        return base;
      }
      if (seen !== hash) continue;
      // Another thread claimed it a moment ago: its initialisation is a few stores.
      for (let spin = 0; spin < 1_000_000 && Atomics.load(ints, base + READY) === 0; spin++);
      return base;
    }
    return -1;
  }

  /** Takes a key; returns its slot's base index when some thread claimed it, else -1 (the agent reading stats). */
  find(key: string): number {
    const hash = keyHash(key);
    const ints = this.ints;
    for (let probe = 0; probe < this.capacity; probe++) {
      const base = HEADER_INTS + ((((hash >>> 0) + probe) % this.capacity) * SLOT_INTS);
      const seen = Atomics.load(ints, base + KEY);
      if (seen === 0) return -1;
      if (seen === hash) return base;
    }
    return -1;
  }

  /** The four counters of a stat prefix (slot claimed on first use); -1 when the table is full. */
  statSlot(statPrefix: string): number {
    return this.claim(statKey(statPrefix), () => {});
  }

  /** A stat slot's int64 counter. */
  readStatWide(base: number, field: number): number {
    return Number(Atomics.load(this.wide, (base >> 1) + field));
  }

  /** A stat slot's counter, as the unsigned count it is. */
  readStat(base: number, field: number): number {
    return Atomics.load(this.ints, base + field) >>> 0;
  }
}

export function statKey(statPrefix: string): string {
  return `stat\u0000${statPrefix}`;
}

/** A token bucket (type.v3.TokenBucket) in the shared table, or in a private array when the table was full. */
export class SharedTokenBucket {
  constructor(
    private readonly ints: Int32Array,
    private readonly base: number,
    private readonly epochMs: number,
    readonly maxTokens: number,
    private readonly tokensPerFill: number,
    readonly fillIntervalMs: number,
  ) {}

  /** Takes the bucket from `table` (or a private one when it is full; `onFull` is told). */
  static open(
    table: RateLimitTable | null,
    key: string,
    maxTokens: number,
    tokensPerFill: number,
    fillIntervalMs: number,
    onFull: () => void,
  ): SharedTokenBucket {
    const now = Date.now();
    const start = (ints: Int32Array, base: number, epochMs: number): void => {
      Atomics.store(ints, base + TOKENS, maxTokens); // Envoy's buckets start full
      Atomics.store(ints, base + PERIOD, Math.floor((now - epochMs) / fillIntervalMs));
    };
    if (table !== null) {
      const base = table.claim(`bucket\u0000${key}\u0000${maxTokens}\u0000${tokensPerFill}\u0000${fillIntervalMs}`, (ints, b) => start(ints, b, table.epochMs));
      if (base >= 0) return new SharedTokenBucket(table.ints, base, table.epochMs, maxTokens, tokensPerFill, fillIntervalMs);
      onFull();
    }
    const ints = new Int32Array(SLOT_INTS);
    start(ints, 0, 0);
    return new SharedTokenBucket(ints, 0, 0, maxTokens, tokensPerFill, fillIntervalMs);
  }

  /** Refills for the periods passed since the last refill, then takes a token; returns whether there was one. */
  tryConsume(nowMs: number): boolean {
    this.refill(nowMs);
    const ints = this.ints;
    const at = this.base + TOKENS;
    for (;;) {
      const tokens = Atomics.load(ints, at);
      if (tokens <= 0) return false;
      if (Atomics.compareExchange(ints, at, tokens, tokens - 1) === tokens) return true;
    }
  }

  /** Tokens left now (for x-ratelimit-remaining). */
  remaining(): number {
    return Math.max(0, Atomics.load(this.ints, this.base + TOKENS));
  }

  /** Whole seconds until the next fill (x-ratelimit-reset), at least 1 while a fill is due later. */
  secondsToNextFill(nowMs: number): number {
    const sinceEpoch = nowMs - this.epochMs;
    const left = this.fillIntervalMs - (sinceEpoch % this.fillIntervalMs);
    return Math.max(1, Math.ceil(left / 1000));
  }

  private refill(nowMs: number): void {
    const ints = this.ints;
    const periodAt = this.base + PERIOD;
    const period = Math.floor((nowMs - this.epochMs) / this.fillIntervalMs);
    const last = Atomics.load(ints, periodAt);
    if (period <= last) return;
    // One thread wins each step forward and adds the tokens of the periods that passed.
    if (Atomics.compareExchange(ints, periodAt, last, period) !== last) return;
    const add = Math.min(this.maxTokens, (period - last) * this.tokensPerFill);
    const at = this.base + TOKENS;
    for (;;) {
      const tokens = Atomics.load(ints, at);
      const next = Math.min(this.maxTokens, tokens + add);
      if (Atomics.compareExchange(ints, at, tokens, next) === tokens) return;
    }
  }
}
