// The check cache (DESIGN.md §5). A Check answer names the attributes the
// rules read (referenced attributes: names, map keys, absent/exact). Each
// distinct set of them is a key space; a request's key in it is made of
// exactly those attributes' values (presence and absence included), so any
// request that agrees on them gets the same answer until valid_duration
// passes or valid_use_count is spent.
//
// Shared truth: the `checkcache` LMDB database, so an answer one worker got
// serves every worker and survives a worker restart. Use counts are shared
// too, without a write per request: a worker leases a block of uses from the
// entry in one write transaction and spends them from its in-memory front.
// A lease is sized by this worker's pace, like Mixer's client sized quota
// prefetches: about LEASE_MS of its recent traffic (at least 1/16 of what is
// left, all of it when that is less, at most 2^20); the next one is taken
// ahead, in an asynchronous transaction (its commit and fsync on lmdb-js's
// write thread) when half of the current one is left, so a request waits for
// a synchronous claim (milliseconds: a commit flushed to disk) only for an
// entry's first lease in this worker. The total never exceeds
// valid_use_count; a worker may hold unspent uses when another needs more,
// which costs an early Check, never a late one. The front (a Map by the raw
// key, no hashing on a hit) is per worker and bounded; LMDB is bounded by
// check_cache_max_entries with the least recently written entries evicted.
import { createHash } from 'node:crypto';
import type { AttributeValue } from '../../../src/policy/attribute-value.js';
import type { CheckCacheDb } from './check-cache-db.js';
import type { CheckOutcome, RefMatch } from './policy-transport.js';
import type { RequestAttributeBag } from './request-attribute-bag.js';

const FRONT_MAX = 4096;
const MAX_KEY_SPACES = 64;
/** A claim is an LMDB write transaction (a sync commit, milliseconds): big blocks keep them rare on a hot key. */
const CLAIM_MAX = 1 << 20;
/** A lease covers about this much of the worker's recent traffic on the key. */
const LEASE_MS = 100;
/** Below this many uses spent, a pace says little: small use counts are shared in 1/16 shares. */
const PACE_MIN_SPENT = 16;
/** -1: no use-count limit (valid_use_count 0). */
const UNLIMITED = -1;

/** A key space: the referenced attributes of some answer, in a canonical order. */
interface KeySpace {
  readonly id: string;
  readonly refs: readonly RefMatch[];
}

/** An answer as stored in LMDB (short field names: it is msgpack'd per entry). */
interface StoredEntry {
  /** google.rpc.Code */
  readonly c: number;
  readonly m: string;
  /** expires at (ms since the epoch) */
  readonly x: number;
  /** uses left to claim; UNLIMITED for none */
  readonly r: number;
  /** its eviction-order key */
  readonly w: string;
}

export interface CachedVerdict {
  readonly code: number;
  readonly message: string;
}

interface FrontEntry extends CachedVerdict {
  readonly dbKey: string;
  readonly expiresAt: number;
  /** Uses this worker claimed and has not spent; UNLIMITED for no limit. */
  usesLeft: number;
  /** The size of the last block claimed: the next is claimed ahead when half of it is left. */
  block: number;
  /** When it was claimed (ms): with the uses spent since, this worker's pace on the key. */
  claimedAt: number;
  /** A claim ahead is in flight (one at a time per entry). */
  claiming: boolean;
}

export class CheckCache {
  private spaces: KeySpace[] = [];
  private readonly front = new Map<string, FrontEntry>();
  private writeSeq = 0;
  /** Without a shared database (unit tests' data planes): this worker's own entries. */
  private readonly local = new Map<string, StoredEntry>();

  constructor(
    private readonly db: CheckCacheDb | null,
    /** Separates answers of different policy servers. */
    private readonly scope: string,
    private readonly maxEntries: number,
    private readonly onWriteError: () => void,
  ) {}

  /** The cached answer for this request, spending one use; null on a miss. */
  lookup(bag: RequestAttributeBag, now: number): CachedVerdict | null {
    const hit = this.lookupIn(this.spaces, bag, now);
    if (hit !== null) return hit;
    // Another worker may have learnt a key space this one has not seen yet.
    const added = this.reloadSpaces();
    return added.length === 0 ? null : this.lookupIn(added, bag, now);
  }

  private lookupIn(spaces: readonly KeySpace[], bag: RequestAttributeBag, now: number): CachedVerdict | null {
    for (let i = 0; i < spaces.length; i++) {
      const raw = this.rawKey(spaces[i]!, bag);
      let entry = this.front.get(raw);
      // A front entry that ran out (or expired) may have been replaced in LMDB by another worker's newer answer.
      if (entry !== undefined && (entry.expiresAt <= now || (entry.usesLeft === 0 && !this.claim(entry, now)))) {
        this.front.delete(raw);
        entry = undefined;
      }
      if (entry === undefined) {
        entry = this.load(raw, now);
        if (entry === undefined) continue;
        if (entry.usesLeft === 0 && !this.claim(entry, now)) {
          this.front.delete(raw);
          continue;
        }
      }
      if (entry.usesLeft > 0 && --entry.usesLeft <= entry.block >> 1 && !entry.claiming) this.claimAhead(entry, now);
      return entry;
    }
    return null;
  }

  /** Stores an answer under the key space it names. `first`: this caller writes the entry (one RPC may answer several). */
  store(outcome: Extract<CheckOutcome, { ok: true }>, bag: RequestAttributeBag, now: number): void {
    if (outcome.validMs <= 0) return; // not cacheable
    const space = this.learnSpace(outcome.refs);
    if (space === null || !outcome.first) return;
    const raw = this.rawKey(space, bag);
    const dbKey = hashKey(raw);
    const remaining = outcome.validUses > 0 ? Math.max(0, outcome.validUses - outcome.sharedBy) : UNLIMITED;
    const expiresAt = now + outcome.validMs;
    // The storing worker's first lease is written with the answer (no claim of its own); small counts stay shared.
    const first = remaining >= PACE_MIN_SPENT ? Math.floor(remaining / 16) : 0;
    this.write(dbKey, { c: outcome.code, m: outcome.message, x: expiresAt, r: remaining === UNLIMITED ? UNLIMITED : remaining - first, w: '' }, now);
    this.remember(raw, { code: outcome.code, message: outcome.message, dbKey, expiresAt, usesLeft: remaining === UNLIMITED ? UNLIMITED : first, block: first, claimedAt: now, claiming: false });
  }

  private rawKey(space: KeySpace, bag: RequestAttributeBag): string {
    let key = space.id;
    const refs = space.refs;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      let value = bag.get(ref.name);
      if (ref.mapKey !== '') value = value !== undefined && typeof value === 'object' && !(value instanceof Uint8Array) ? (value as Record<string, string>)[ref.mapKey] : undefined;
      key += '\u0001';
      if (value === undefined) key += 'A';
      else if (ref.condition === 'ABSENCE') key += 'P';
      else key += valueText(value);
    }
    return key;
  }

  private load(raw: string, now: number): FrontEntry | undefined {
    const dbKey = hashKey(raw);
    const stored = this.read(dbKey);
    if (stored === undefined || stored.x <= now || stored.r === 0) return undefined;
    const entry: FrontEntry = { code: stored.c, message: stored.m, dbKey, expiresAt: stored.x, usesLeft: stored.r === UNLIMITED ? UNLIMITED : 0, block: 0, claimedAt: now, claiming: false };
    this.remember(raw, entry);
    return entry;
  }

  /** Takes a block of uses from the shared entry now; false when none are left (or it expired or changed). */
  private claim(entry: FrontEntry, now: number): boolean {
    const db = this.db;
    const want = paceWant(entry, now);
    if (db === null) {
      const e = this.local.get(entry.dbKey);
      const n = blockOf(e, entry, want, now);
      if (n > 0) this.local.set(entry.dbKey, { ...e!, r: e!.r - n });
      leased(entry, n, now);
      return n > 0;
    }
    try {
      const n = db.transactionSync(() => takeBlock(db, entry, want, now));
      leased(entry, n, now);
      return n > 0;
    } catch {
      this.onWriteError();
      return false;
    }
  }

  /** Claims the next block while this one is still being spent: the write waits for no request. */
  private claimAhead(entry: FrontEntry, now: number): void {
    const db = this.db;
    if (db === null) return; // this worker's own entries: a claim is a Map update
    entry.claiming = true;
    const want = paceWant(entry, now);
    let pending: Promise<number>;
    try {
      // The uses count as soon as the transaction takes them (before its commit is flushed): a worker that
      // spends faster than a flush never finds the entry empty while its own lease is on the way.
      pending = db.transaction(() => {
        const n = takeBlock(db, entry, want, now);
        if (n > 0) {
          entry.usesLeft += n;
          entry.block = n;
          entry.claimedAt = now;
        } else {
          // Nothing left to lease ahead: the rest of this lease is spent without asking again at every request.
          entry.block = 0;
        }
        return n;
      });
    } catch {
      entry.claiming = false;
      this.onWriteError();
      return;
    }
    pending.then(
      () => {
        entry.claiming = false;
      },
      () => {
        // Not committed: the uses stay in LMDB for the others; this worker gives up what it holds (an early Check).
        entry.claiming = false;
        entry.usesLeft = 0;
        this.onWriteError();
      },
    );
  }

  private read(dbKey: string): StoredEntry | undefined {
    if (this.db === null) return this.local.get(dbKey);
    try {
      // lmdb-js keeps a read snapshot for the event turn: another worker's write must be seen now.
      this.db.resetReadTxn();
      return this.db.get(dbKey) as StoredEntry | undefined;
    } catch {
      return undefined;
    }
  }

  private write(dbKey: string, entry: StoredEntry, now: number): void {
    const db = this.db;
    if (db === null) {
      if (this.local.size >= this.maxEntries && !this.local.has(dbKey)) this.local.delete(this.local.keys().next().value!);
      this.local.set(dbKey, entry);
      return;
    }
    const order = `w:${String(now).padStart(15, '0')}${String(this.writeSeq++ % 1e6).padStart(6, '0')}${dbKey}`;
    try {
      db.transactionSync(() => {
        const old = db.get(dbKey) as StoredEntry | undefined;
        if (old !== undefined && old.w !== '') db.remove(old.w);
        db.put(dbKey, { ...entry, w: order });
        db.put(order, dbKey);
        let count = ((db.get('n:count') as number | undefined) ?? 0) + (old === undefined ? 1 : 0);
        if (count > this.maxEntries) {
          // Least recently written first.
          for (const { key, value } of db.getRange({ start: 'w:', end: 'w;', limit: count - this.maxEntries })) {
            db.remove(key as string);
            db.remove(value as string);
            count--;
          }
        }
        db.put('n:count', count);
      });
    } catch {
      this.onWriteError();
    }
  }

  private remember(raw: string, entry: FrontEntry): void {
    if (this.front.size >= FRONT_MAX && !this.front.has(raw)) this.front.delete(this.front.keys().next().value!);
    this.front.set(raw, entry);
  }

  /** The key space of `refs`, added (here and in LMDB) when new; null when there are too many. */
  private learnSpace(refs: readonly RefMatch[]): KeySpace | null {
    const sorted = [...refs].sort((a, b) => (a.name === b.name ? (a.mapKey < b.mapKey ? -1 : a.mapKey > b.mapKey ? 1 : 0) : a.name < b.name ? -1 : 1));
    const id = `${this.scope}\u0002${sorted.map((r) => `${r.name}\u0003${r.mapKey}\u0003${r.condition === 'ABSENCE' ? 'A' : 'E'}`).join('\u0004')}`;
    const known = this.spaces.find((s) => s.id === id);
    if (known !== undefined) return known;
    this.reloadSpaces();
    const again = this.spaces.find((s) => s.id === id);
    if (again !== undefined) return again;
    if (this.spaces.length >= MAX_KEY_SPACES) return null;
    const space: KeySpace = Object.freeze({ id, refs: Object.freeze(sorted) });
    this.spaces = [...this.spaces, space];
    const db = this.db;
    if (db !== null) {
      try {
        db.transactionSync(() => {
          const list = (db.get(this.spacesKey()) as KeySpace[] | undefined) ?? [];
          if (!list.some((s) => s.id === id) && list.length < MAX_KEY_SPACES) db.put(this.spacesKey(), [...list, space]);
        });
      } catch {
        this.onWriteError();
      }
    }
    return space;
  }

  /** Reads the shared list of key spaces; returns those this worker did not have. */
  private reloadSpaces(): KeySpace[] {
    if (this.db === null) return [];
    const list = this.read(this.spacesKey()) as unknown as KeySpace[] | undefined;
    if (list === undefined || list.length === this.spaces.length) return [];
    const added = list.filter((s) => !this.spaces.some((k) => k.id === s.id));
    this.spaces = [...this.spaces, ...added];
    return added;
  }

  private spacesKey(): string {
    return `s:${this.scope}`;
  }
}

/** The uses this worker would spend on the entry in LEASE_MS at its pace since its last lease; 0 before it has one. */
function paceWant(entry: FrontEntry, now: number): number {
  const spent = entry.block - entry.usesLeft;
  if (spent < PACE_MIN_SPENT) return 0;
  return Math.ceil((spent / Math.max(1, now - entry.claimedAt)) * LEASE_MS);
}

function leased(entry: FrontEntry, n: number, now: number): void {
  entry.usesLeft = n;
  entry.block = n;
  entry.claimedAt = now;
}

/**
 * How many uses a lease takes from the stored entry `e`: at least 1/16 of what is left, `want` (the worker's pace)
 * when more, all of it when `want` is not less; 0 when it expired or changed.
 */
function blockOf(e: StoredEntry | undefined, entry: FrontEntry, want: number, now: number): number {
  if (e === undefined || e.x !== entry.expiresAt || e.x <= now || e.r <= 0) return 0;
  const n = want >= e.r ? e.r : Math.max(1, Math.floor(e.r / 16), want);
  return Math.min(e.r, CLAIM_MAX, n);
}

/** Inside a write transaction: takes a lease from the shared entry; returns its size. */
function takeBlock(db: CheckCacheDb, entry: FrontEntry, want: number, now: number): number {
  const e = db.get(entry.dbKey) as StoredEntry | undefined;
  const n = blockOf(e, entry, want, now);
  if (n > 0) db.put(entry.dbKey, { ...e!, r: e!.r - n });
  return n;
}

/** A value's text in a key: typed, and length-prefixed where it could otherwise run into the next. */
function valueText(value: AttributeValue): string {
  switch (typeof value) {
    case 'string':
      return `s${value.length}:${value}`;
    case 'number':
      return `n${value}`;
    case 'boolean':
      return value ? 'T' : 'F';
    default: {
      if (value instanceof Uint8Array) return `x${Buffer.from(value).toString('hex')}`;
      const keys = Object.keys(value).sort();
      let out = `m${keys.length}`;
      for (const k of keys) out += `:${k.length}:${k}${(value as Record<string, string>)[k]!.length}:${(value as Record<string, string>)[k]!}`;
      return out;
    }
  }
}

/** LMDB keys are bounded (511 bytes by default): the raw key's SHA-256. */
export function hashKey(raw: string): string {
  return `e:${createHash('sha256').update(raw).digest('base64')}`;
}
