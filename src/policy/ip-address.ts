// IP addresses and CIDR ranges for policy expressions: `source.ip ==
// ip("10.1.2.3")` compares addresses, not their text ('::ffff:10.1.2.3', the
// form Node reports for IPv4 on a dual-stack socket, equals '10.1.2.3'), and
// `ip("10.0.0.0/8").contains(source.ip)` tests membership.
import { isIPv4, isIPv6 } from 'node:net';

/** Takes an address's text; returns its bytes (4 for IPv4 and IPv4-mapped IPv6, else 16), or null if it is not one. */
export function parseIpAddress(text: string): Uint8Array | null {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  const zone = text.indexOf('%');
  const bare = zone < 0 ? text : text.slice(0, zone);
  if (!isIPv6(bare)) return null;
  let head = bare;
  let v4Tail: number[] = [];
  const lastColon = bare.lastIndexOf(':');
  if (bare.includes('.', lastColon)) {
    v4Tail = bare.slice(lastColon + 1).split('.').map(Number);
    head = `${bare.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? leftGroups : [...leftGroups, ...new Array<string>(8 - leftGroups.length - rightGroups.length).fill('0'), ...rightGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = Number.parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  if (v4Tail.length === 4) bytes.set(v4Tail, 12);
  const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

/** True when both texts are the same IP address (false when either is not an address). */
export function ipEquals(a: string, b: string): boolean {
  if (a === b) return isIPv4(a) || isIPv6(a);
  const x = parseIpAddress(a);
  const y = parseIpAddress(b);
  return x !== null && y !== null && x.length === y.length && x.every((v, i) => v === y[i]);
}

/** A CIDR range, as ip("10.0.0.0/8") makes it. */
export class CidrRange {
  private constructor(readonly text: string, private readonly network: Uint8Array, private readonly prefixLength: number) {}

  /** Takes 'address/length'; returns the range, or a reason it is not one. */
  static parse(text: string): CidrRange | string {
    const slash = text.indexOf('/');
    const address = parseIpAddress(text.slice(0, slash));
    if (address === null) return `'${text.slice(0, slash)}' is not an IP address`;
    const lengthText = text.slice(slash + 1);
    const length = /^[0-9]{1,3}$/.test(lengthText) ? Number(lengthText) : NaN;
    if (!(length <= address.length * 8)) return `'/${lengthText}' is not a prefix length for ${address.length === 4 ? 'IPv4 (0-32)' : 'IPv6 (0-128)'}`;
    return new CidrRange(text, address, length);
  }

  /** True when the address text is inside the range (an IPv4 address is never inside an IPv6 range, nor the reverse). */
  contains(addressText: string): boolean {
    const address = parseIpAddress(addressText);
    if (address === null || address.length !== this.network.length) return false;
    let bits = this.prefixLength;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((address[i] & mask) !== (this.network[i] & mask)) return false;
    }
    return true;
  }
}
