// IP addresses and CIDR ranges in policy expressions: compared as addresses
// (not text), IPv4-mapped IPv6 equal to IPv4, ranges tested bit by bit.
import { describe, expect, it } from 'vitest';
import { CidrRange, ipEquals, parseIpAddress } from '../../src/policy/ip-address.js';

describe('parseIpAddress', () => {
  it('reads IPv4, IPv6 in its short forms, zones, and IPv4-mapped IPv6 as IPv4', () => {
    expect([...parseIpAddress('10.1.2.3')!]).toEqual([10, 1, 2, 3]);
    expect([...parseIpAddress('::ffff:10.1.2.3')!]).toEqual([10, 1, 2, 3]);
    expect([...parseIpAddress('::1')!]).toEqual([...new Array(15).fill(0), 1]);
    expect([...parseIpAddress('fe80::1%eth0')!].slice(0, 2)).toEqual([0xfe, 0x80]);
    expect([...parseIpAddress('2001:db8::8:800:200c:417a')!]).toEqual([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 8, 8, 0, 0x20, 0x0c, 0x41, 0x7a]);
    expect([...parseIpAddress('1:2:3:4:5:6:7:8')!].slice(14)).toEqual([0, 8]);
    for (const bad of ['', '10.1.2', '10.1.2.256', 'localhost', '1::2::3', '::ffff:10.1.2']) expect(parseIpAddress(bad), bad).toBeNull();
  });

  it('compares addresses, not their text', () => {
    expect(ipEquals('::ffff:127.0.0.1', '127.0.0.1')).toBe(true);
    expect(ipEquals('2001:DB8::1', '2001:db8:0:0:0:0:0:1')).toBe(true);
    expect(ipEquals('10.0.0.1', '10.0.0.2')).toBe(false);
    expect(ipEquals('nonsense', 'nonsense')).toBe(false);
  });
});

describe('CidrRange', () => {
  it('tests membership by prefix bits, IPv4 and IPv6 apart', () => {
    const r = CidrRange.parse('10.0.0.0/8') as CidrRange;
    expect(r.contains('10.255.1.2')).toBe(true);
    expect(r.contains('::ffff:10.9.9.9')).toBe(true);
    expect(r.contains('11.0.0.0')).toBe(false);
    expect(r.contains('::1')).toBe(false);
    const odd = CidrRange.parse('192.168.4.0/22') as CidrRange;
    expect(odd.contains('192.168.7.255')).toBe(true);
    expect(odd.contains('192.168.8.0')).toBe(false);
    expect((CidrRange.parse('0.0.0.0/0') as CidrRange).contains('8.8.8.8')).toBe(true);
    expect((CidrRange.parse('fd00::/8') as CidrRange).contains('fdab::1')).toBe(true);
    expect((CidrRange.parse('10.1.2.3/32') as CidrRange).contains('10.1.2.4')).toBe(false);
    expect(CidrRange.parse('10.0.0.0/33')).toBe("'/33' is not a prefix length for IPv4 (0-32)");
    expect(CidrRange.parse('10.0.0/8')).toBe("'10.0.0' is not an IP address");
    expect(CidrRange.parse('::/129')).toMatch(/IPv6 \(0-128\)/);
  });
});
