import { describe, expect, it } from 'vitest';
import { hashString } from '../../../workers/balancers/hash32.js';
import { RingHashBalancer } from '../../../workers/balancers/ring-hash-balancer.js';
import type { UpstreamEndpoint } from '../../../workers/upstream-endpoint.js';
import { endpointsOf, ports } from './lb-fixtures.js';

const DEFAULT_RING = { minRingSize: 1024, maxRingSize: 8_388_608 };
const keys = Array.from({ length: 10_000 }, (_, i) => hashString(`user-${i}`));

function owners(b: RingHashBalancer): number[] {
  return keys.map((k) => b.pick(k, null).port);
}

describe('RingHashBalancer', () => {
  it('sizes the ring: a power-of-two number of points per unit of weight, at least min, at most max', () => {
    expect(new RingHashBalancer(endpointsOf('RING_HASH', ports(3)), DEFAULT_RING).ring.length).toBe(1536); // 512 x 3
    expect(new RingHashBalancer(endpointsOf('RING_HASH', ports(5)), DEFAULT_RING).ring.length).toBe(1280); // 256 x 5
    expect(new RingHashBalancer(endpointsOf('RING_HASH', ports(1000)), DEFAULT_RING).ring.length).toBe(2000);
    expect(new RingHashBalancer(endpointsOf('RING_HASH', ports(4)), { minRingSize: 1024, maxRingSize: 100 }).ring.length).toBe(100);
    const weighted = endpointsOf('RING_HASH', [{ port: 1, weight: 1 }, { port: 2, weight: 3 }]);
    expect(new RingHashBalancer(weighted, DEFAULT_RING).ring.length).toBe(1024);
  });

  it('keeps a key on one host, and two independently built rings (two workers) agree on every key', () => {
    const a = new RingHashBalancer(endpointsOf('RING_HASH', ports(5)), DEFAULT_RING);
    const b = new RingHashBalancer(endpointsOf('RING_HASH', ports(5)), DEFAULT_RING);
    const first = owners(a);
    expect(owners(a)).toEqual(first);
    expect(owners(b)).toEqual(first);
  });

  it('gives hosts key shares in proportion to weight', () => {
    const hosts = endpointsOf('RING_HASH', [{ port: 1, weight: 1 }, { port: 2, weight: 2 }, { port: 3, weight: 1 }]);
    const b = new RingHashBalancer(hosts, { minRingSize: 65_536, maxRingSize: 8_388_608 });
    const o = owners(b);
    const share = (p: number): number => o.filter((x) => x === p).length / o.length;
    expect(share(2)).toBeGreaterThan(0.45);
    expect(share(2)).toBeLessThan(0.55);
    expect(share(1)).toBeGreaterThan(0.2);
    expect(share(1)).toBeLessThan(0.3);
  });

  it('moves only the removed host\'s keys (about 1/N) when one of N hosts goes', () => {
    const all = ports(5);
    const before = owners(new RingHashBalancer(endpointsOf('RING_HASH', all), DEFAULT_RING));
    const after = owners(new RingHashBalancer(endpointsOf('RING_HASH', all.filter((p) => p !== all[2])), DEFAULT_RING));
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== all[2]) expect(after[i]).toBe(before[i]);
      else moved++;
    }
    expect(moved / keys.length).toBeGreaterThan(0.12);
    expect(moved / keys.length).toBeLessThan(0.28);
  });

  it('moves exactly the departed host\'s keys when the ring is sized by the configured hosts (an ejection)', () => {
    const all = ports(4);
    const hosts = endpointsOf('RING_HASH', all);
    const before = owners(new RingHashBalancer(hosts, DEFAULT_RING, 4));
    const after = owners(new RingHashBalancer(hosts.slice(1), DEFAULT_RING, 4));
    for (let i = 0; i < keys.length; i++) if (before[i] !== all[0]) expect(after[i]).toBe(before[i]);
  });

  it('walks on to the next host on the ring for a retry avoiding the key\'s host, the same one every time', () => {
    const hosts = endpointsOf('RING_HASH', ports(4));
    const b = new RingHashBalancer(hosts, DEFAULT_RING);
    const avoid = new Uint8Array(4);
    for (const k of keys.slice(0, 200)) {
      const home: UpstreamEndpoint = b.pick(k, null);
      avoid[home.index] = 1;
      const next = b.pick(k, avoid);
      expect(next).not.toBe(home);
      expect(b.pick(k, avoid)).toBe(next);
      avoid[home.index] = 0;
    }
  });

  it('picks a random point for a request without a hash', () => {
    const b = new RingHashBalancer(endpointsOf('RING_HASH', ports(4)), DEFAULT_RING);
    const seen = new Set(Array.from({ length: 400 }, () => b.pick(-1, null).port));
    expect(seen.size).toBe(4);
  });
});
