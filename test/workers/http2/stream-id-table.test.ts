import { describe, expect, it } from 'vitest';
import { StreamIdTable } from '../../../workers/http2/stream-id-table.js';

describe('StreamIdTable', () => {
  it('holds what a Map holds through random opens and closes, wrapping runs and growth included', () => {
    const table = new StreamIdTable<{ id: number }>();
    const map = new Map<number, { id: number }>();
    let seed = 12345;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    let next = 1;
    for (let step = 0; step < 200_000; step++) {
      const r = rand(10);
      if (r < 5 || map.size === 0) {
        // Mostly increasing odd ids as a session opens them, sometimes any id (colliding homes, wrapped runs).
        const id = r === 0 ? 1 + rand(0x7ffffffe) : (next += 2);
        const v = { id };
        table.set(id, v);
        map.set(id, v);
      } else {
        const keys = [...map.keys()];
        const id = r === 9 ? 1 + rand(1000) : keys[rand(keys.length)]!;
        expect(table.delete(id)).toBe(map.delete(id));
      }
      if (map.size > 300) for (const k of [...map.keys()].slice(0, 200)) { table.delete(k); map.delete(k); }
      if (step % 997 === 0) {
        expect(table.size).toBe(map.size);
        for (const [k, v] of map) expect(table.get(k)).toBe(v);
        expect(table.get(next + 2)).toBeUndefined();
        expect(table.values()).toEqual([...map.keys()].sort((a, b) => a - b).map((k) => map.get(k)));
      }
    }
    table.clear();
    expect(table.size).toBe(0);
    expect(table.values()).toEqual([]);
  });

  it('gives a burst of streams back once it is over, and keeps every stream through the shrinking', () => {
    const table = new StreamIdTable<{ id: number }>();
    const slots = (): number => (table as unknown as { keys: Int32Array }).keys.length;
    for (let id = 1; id < 200_000; id += 2) table.set(id, { id });
    expect(slots()).toBe(131_072 * 2);
    for (let id = 1; id < 199_000; id += 2) table.delete(id);
    expect(table.size).toBe(500);
    expect(slots()).toBeLessThanOrEqual(4096);
    for (let id = 199_001; id < 200_000; id += 2) expect(table.get(id)!.id).toBe(id);
    // A steady few streams stay in a table that no longer changes size.
    for (let id = 199_001; id < 200_000; id += 2) table.delete(id);
    const steady = slots();
    for (let id = 300_001; id < 400_000; id += 2) {
      table.set(id, { id });
      if (id > 300_200) table.delete(id - 200);
    }
    expect(slots()).toBe(steady);
  });

  it('does not let a client pile its streams into one slot by choosing their ids', () => {
    // 4096 streams end in a table of 8192 slots; ids spaced by twice that shared one home slot when the home was
    // the id's low bits, so every lookup scanned the streams before it (4095 slots for the last).
    const table = new StreamIdTable<{ id: number }>();
    for (let n = 0; n < 4096; n++) table.set(1 + n * 16_384, { id: 1 + n * 16_384 });
    expect((table as unknown as { keys: Int32Array }).keys.length).toBe(8192);
    expect(table.longestProbe()).toBeLessThan(64);
    // And the usual ids (odd, increasing) as well.
    const usual = new StreamIdTable<{ id: number }>();
    for (let id = 1; id < 8192; id += 2) usual.set(id, { id });
    expect(usual.longestProbe()).toBeLessThan(64);
    for (let n = 0; n < 4096; n++) expect(table.get(1 + n * 16_384)!.id).toBe(1 + n * 16_384);
  });

  it('refuses an id that is not a stream id, changing nothing', () => {
    const table = new StreamIdTable<object>();
    table.set(3, {});
    for (const bad of [0, -1, 2 ** 31, 1.5, NaN]) expect(() => table.set(bad, {})).toThrow(RangeError);
    expect(table.size).toBe(1);
  });

  it('finds no stream under an id that is none (0 marks a free slot), and deleting it changes nothing', () => {
    const table = new StreamIdTable<{ id: number }>();
    for (let id = 1; id < 40; id += 2) table.set(id, { id });
    for (const bad of [0, -0, -1, 2 ** 31, 2 ** 32 + 1, 1.5, NaN]) {
      expect(table.get(bad)).toBeUndefined();
      expect(table.delete(bad)).toBe(false);
    }
    expect(table.size).toBe(20);
    for (let id = 1; id < 40; id += 2) expect(table.get(id)!.id).toBe(id);
    expect(table.values().map((v) => v.id)).toEqual(Array.from({ length: 20 }, (_, n) => 1 + 2 * n));
  });

  it('gives a burst back when cleared (a closing session keeps no big table)', () => {
    const table = new StreamIdTable<{ id: number }>();
    for (let id = 1; id < 20_000; id += 2) table.set(id, { id });
    table.clear();
    expect((table as unknown as { keys: Int32Array }).keys.length).toBe(16);
    table.set(7, { id: 7 });
    expect(table.get(7)!.id).toBe(7);
    expect(table.size).toBe(1);
  });
});
