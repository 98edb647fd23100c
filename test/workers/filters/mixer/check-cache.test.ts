// The check cache over a real LMDB environment in a temp dir, two CheckCache
// objects standing for two workers: key spaces from referenced attributes
// (exact values, map keys, absence), use counts shared without overspending,
// expiry by valid_duration (the clock is a parameter), the entry bound.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckCache } from '../../../../workers/filters/mixer/check-cache.js';
import type { CheckCacheDb } from '../../../../workers/filters/mixer/check-cache-db.js';
import type { CheckOutcome, RefMatch } from '../../../../workers/filters/mixer/policy-transport.js';
import { RequestAttributeBag } from '../../../../workers/filters/mixer/request-attribute-bag.js';

let dir: string;
let env: RootDatabase;
let db: CheckCacheDb;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'checkcache-'));
  env = open(dir, { maxDbs: 8 });
  db = env.openDB<unknown, string>({ name: 'checkcache', encoding: 'msgpack' }) as unknown as CheckCacheDb;
});

afterEach(async () => {
  await env.close();
  rmSync(dir, { recursive: true, force: true });
});

function bag(headers: Record<string, string>, path = '/'): RequestAttributeBag {
  return new RequestAttributeBag({
    method: 'GET', path, query: '', authority: 'svc', headers: Object.entries(headers).flat(), requestId: '', scheme: 'http',
    bytesReceived: 0, bytesSent: 0, responseCode: 0, startMark: 0, conn: { remoteAddress: '127.0.0.1', remotePort: 4000, peerUriSan: '', tlsVersion: '' },
  }, { statics: new Map(), destinationIp: '127.0.0.1', destinationPort: 80 });
}

const USER: RefMatch = { name: 'request.headers', mapKey: 'x-user', condition: 'EXACT' };

function answer(fields: Partial<Extract<CheckOutcome, { ok: true }>>): Extract<CheckOutcome, { ok: true }> {
  return { ok: true, code: 0, message: '', validMs: 60_000, validUses: 0, refs: [USER], quotas: [], sharedBy: 1, first: true, ...fields };
}

const worker = (max = 100): CheckCache => new CheckCache(db, 'cluster:mixer', max, () => { throw new Error('write error'); });

describe('CheckCache', () => {
  it('answers every request that agrees on the referenced attributes, in every worker, and no other', () => {
    const a = worker();
    const b = worker();
    const now = 1_000_000;
    expect(a.lookup(bag({ 'x-user': 'alice' }), now)).toBeNull();
    a.store(answer({ code: 7, message: 'no' }), bag({ 'x-user': 'alice' }), now);
    // Another path, same user: the rule did not read the path.
    expect(b.lookup(bag({ 'x-user': 'alice', 'x-other': '1' }, '/elsewhere'), now)).toEqual(expect.objectContaining({ code: 7, message: 'no' }));
    expect(b.lookup(bag({ 'x-user': 'bob' }), now)).toBeNull();
    expect(b.lookup(bag({}), now)).toBeNull();
  });

  it('keys absence apart from any value', () => {
    const a = worker();
    a.store(answer({ refs: [{ ...USER, condition: 'ABSENCE' }] }), bag({}), 0);
    expect(a.lookup(bag({}), 1)).not.toBeNull();
    expect(a.lookup(bag({ 'x-user': 'x' }), 1)).toBeNull();
  });

  it('spends valid_use_count across workers without ever exceeding it', () => {
    const workers = [worker(), worker()];
    let rpcs = 0;
    let served = 0;
    for (let i = 0; i < 30; i++) {
      const w = workers[i % 2]!;
      if (w.lookup(bag({ 'x-user': 'bob' }), 5) === null) {
        rpcs++;
        w.store(answer({ validUses: 3 }), bag({ 'x-user': 'bob' }), 5);
      } else served++;
    }
    expect(rpcs).toBe(10);
    expect(served).toBe(20);
  });

  it('leases uses ahead, asynchronously, at a worker\'s pace: the total served stays within valid_use_count', async () => {
    const workers = [worker(), worker()];
    const validUses = 2000;
    let rpcs = 0;
    let served = 0;
    let now = 1_000;
    for (let i = 0; i < 12_000; i++) {
      // Worker 0 takes three requests for each of worker 1's; time moves 1 ms per 8 requests.
      const w = workers[i % 4 === 3 ? 1 : 0]!;
      if (i % 8 === 0) now++;
      if (w.lookup(bag({ 'x-user': 'pace' }), now) === null) {
        rpcs++;
        w.store(answer({ validUses }), bag({ 'x-user': 'pace' }), now);
      } else served++;
      // Let the leases taken ahead commit now and then (their transactions are asynchronous).
      if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Each RPC's own request is not served from the cache; the rest of its uses at most are.
    expect(served).toBeLessThanOrEqual(rpcs * (validUses - 1));
    expect(rpcs + served).toBe(12_000);
    // Leases are spent nearly whole: few early Checks.
    expect(rpcs).toBeLessThanOrEqual(12);
  });

  it('asks LMDB for a lease ahead once per lease, not once per request, when the shared uses have run out', async () => {
    let aheads = 0;
    const counted: CheckCacheDb = {
      get: (k) => db.get(k), put: (k, v) => db.put(k, v), remove: (k) => db.remove(k), getRange: (o) => db.getRange(o),
      transactionSync: (fn) => db.transactionSync(fn), resetReadTxn: () => db.resetReadTxn(),
      transaction: (fn) => {
        aheads++;
        return db.transaction(fn);
      },
    };
    const a = new CheckCache(counted, 'cluster:mixer', 100, () => { throw new Error('write error'); });
    const b = worker();
    const now = 10;
    // A stores the answer and keeps its first lease (1/16 of the 1599 left after the RPC's own request: 99 uses);
    // B then takes every use left in LMDB.
    a.store(answer({ validUses: 1600 }), bag({ 'x-user': 'eve' }), now);
    let servedB = 0;
    for (let i = 0; i < 2000 && b.lookup(bag({ 'x-user': 'eve' }), now) !== null; i++) {
      servedB++;
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    // A spends its lease, each claim ahead committed before the next request: none finds anything to take.
    let servedA = 0;
    for (let i = 0; i < 120; i++) {
      if (a.lookup(bag({ 'x-user': 'eve' }), now) !== null) servedA++;
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(servedA + servedB).toBe(1599);
    expect(servedA).toBe(99);
    expect(aheads).toBeLessThanOrEqual(2);
  });

  it('shares one answer among the callers of one RPC (sharedBy): only the first stores it', () => {
    const a = worker();
    const b = worker();
    a.store(answer({ validUses: 4, sharedBy: 3 }), bag({ 'x-user': 'c' }), 0);
    b.store(answer({ validUses: 4, sharedBy: 3, first: false }), bag({ 'x-user': 'c' }), 0);
    expect(b.lookup(bag({ 'x-user': 'c' }), 1)).not.toBeNull();
    expect(a.lookup(bag({ 'x-user': 'c' }), 1)).toBeNull();
  });

  it('expires answers after valid_duration, and does not keep uncacheable ones', () => {
    const a = worker();
    a.store(answer({ validMs: 100 }), bag({ 'x-user': 'd' }), 1000);
    expect(a.lookup(bag({ 'x-user': 'd' }), 1099)).not.toBeNull();
    expect(a.lookup(bag({ 'x-user': 'd' }), 1100)).toBeNull();
    expect(worker().lookup(bag({ 'x-user': 'd' }), 1100)).toBeNull();
    a.store(answer({ validMs: 0 }), bag({ 'x-user': 'e' }), 1000);
    expect(a.lookup(bag({ 'x-user': 'e' }), 1000)).toBeNull();
  });

  it('holds at most check_cache_max_entries, evicting the least recently written', () => {
    const a = worker(5);
    for (let i = 0; i < 12; i++) a.store(answer({}), bag({ 'x-user': `u${i}` }), 10);
    const fresh = worker(5);
    const kept = Array.from({ length: 12 }, (_, i) => fresh.lookup(bag({ 'x-user': `u${i}` }), 11) !== null);
    expect(kept.filter(Boolean)).toHaveLength(5);
    expect(kept.slice(7)).toEqual([true, true, true, true, true]);
    expect([...(db.getRange({ start: 'e:', end: 'e;' }) as Iterable<unknown>)]).toHaveLength(5);
  });
});
