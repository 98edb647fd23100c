import { describe, expect, it } from 'vitest';
import { hashString } from '../../../workers/balancers/hash32.js';
import { MaglevBalancer } from '../../../workers/balancers/maglev-balancer.js';
import { endpointsOf, ports } from './lb-fixtures.js';

const keys = Array.from({ length: 10_000 }, (_, i) => hashString(`session-${i}`));

function owners(b: MaglevBalancer): number[] {
  return keys.map((k) => b.pick(k, null).port);
}

function tableShares(b: MaglevBalancer, hostPorts: readonly number[]): number[] {
  const hosts = endpointsOf('MAGLEV', hostPorts);
  const counts = new Array<number>(hosts.length).fill(0);
  for (const slot of b.table) counts[slot]!++;
  return counts.map((c) => c / b.table.length);
}

describe('MaglevBalancer', () => {
  it('fills every slot of a prime table, evenly across equal hosts (within 1%)', () => {
    const b = new MaglevBalancer(endpointsOf('MAGLEV', ports(7)), 65_537);
    expect(b.tableSize).toBe(65_537);
    for (const share of tableShares(b, ports(7))) expect(Math.abs(share - 1 / 7)).toBeLessThan(0.01);
  });

  it('honours weights: slots in proportion (1:2:5)', () => {
    const spec = [{ port: 1, weight: 1 }, { port: 2, weight: 2 }, { port: 3, weight: 5 }];
    const b = new MaglevBalancer(endpointsOf('MAGLEV', spec), 65_537);
    const counts = [0, 0, 0];
    for (const slot of b.table) counts[slot]!++;
    const shares = counts.map((c) => c / 65_537);
    expect(Math.abs(shares[0]! - 1 / 8)).toBeLessThan(0.01);
    expect(Math.abs(shares[1]! - 2 / 8)).toBeLessThan(0.01);
    expect(Math.abs(shares[2]! - 5 / 8)).toBeLessThan(0.01);
  });

  it('is deterministic (two workers agree) and keeps a key on one host', () => {
    const a = owners(new MaglevBalancer(endpointsOf('MAGLEV', ports(5)), 65_537));
    expect(owners(new MaglevBalancer(endpointsOf('MAGLEV', ports(5)), 65_537))).toEqual(a);
  });

  it('moves about 1/N of keys when one of N hosts goes, and keeps almost all others in place', () => {
    const all = ports(5);
    const before = owners(new MaglevBalancer(endpointsOf('MAGLEV', all), 65_537));
    const after = owners(new MaglevBalancer(endpointsOf('MAGLEV', all.filter((p) => p !== all[1])), 65_537));
    const changed = before.filter((p, i) => after[i] !== p).length / keys.length;
    const ofOthers = before.filter((p, i) => p !== all[1] && after[i] !== p).length / keys.length;
    expect(changed).toBeGreaterThan(0.12);
    expect(changed).toBeLessThan(0.3);
    expect(ofOthers).toBeLessThan(0.05);
  });

  it('rounds a table size that is not prime up to the next prime', () => {
    expect(new MaglevBalancer(endpointsOf('MAGLEV', ports(3)), 100).tableSize).toBe(101);
  });

  it('gives a retry another host when the key\'s host is avoided', () => {
    const hosts = endpointsOf('MAGLEV', ports(3));
    const b = new MaglevBalancer(hosts, 65_537);
    const avoid = new Uint8Array(3);
    for (const k of keys.slice(0, 200)) {
      const home = b.pick(k, null);
      avoid[home.index] = 1;
      expect(b.pick(k, avoid)).not.toBe(home);
      avoid[home.index] = 0;
    }
  });
});
