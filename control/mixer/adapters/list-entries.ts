// The entries of a `list` handler, compiled for lookups: a set of strings
// (exact or case-insensitive), a set of IP ranges (CIDR, on node:net's
// BlockList), or RE2 regexes (linear time in the checked value: the value
// comes from a request, so a backtracking engine would let a client stall the
// adapter pool). Istio matches a REGEX entry anywhere in the value (Go's
// MatchString), so an entry that must match whole is written ^...$.
import { BlockList, isIP } from 'node:net';
import { checkRe2, compileSearch, ISTIO_MAX_PROGRAM_SIZE, type SearchRegex } from '../../../src/config/re2-regex.js';
import { ipFromBytes } from './instance-fields.js';

export type ListEntryType = 'STRINGS' | 'CASE_INSENSITIVE_STRINGS' | 'IP_ADDRESSES' | 'REGEX';
export const LIST_ENTRY_TYPES: readonly ListEntryType[] = ['STRINGS', 'CASE_INSENSITIVE_STRINGS', 'IP_ADDRESSES', 'REGEX'];

export interface ListMatcher {
  readonly size: number;
  /** Takes a listentry value; returns true when an entry matches it. */
  has(value: unknown): boolean;
}

/** Takes one entry and its type; returns what is wrong with it, or null when it is valid. */
export function checkListEntry(entry: string, type: ListEntryType): string | null {
  if (type === 'IP_ADDRESSES') return parseCidr(entry) === null ? `"${entry}" is not an IP address or CIDR range (e.g. 10.0.0.0/8, ::1)` : null;
  if (type === 'REGEX') {
    const problem = checkRe2(entry, ISTIO_MAX_PROGRAM_SIZE);
    return problem === null ? null : `"${entry}" ${problem}`;
  }
  return null;
}

function parseCidr(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return null;
  return { address, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' };
}

function stringOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Uint8Array) return ipFromBytes(value);
  return null;
}

class StringSet implements ListMatcher {
  private readonly entries: Set<string>;

  constructor(entries: readonly string[], private readonly foldCase: boolean) {
    this.entries = new Set(foldCase ? entries.map((e) => e.toLowerCase()) : entries);
  }

  get size(): number {
    return this.entries.size;
  }

  has(value: unknown): boolean {
    const text = stringOf(value);
    if (text === null) return false;
    return this.entries.has(this.foldCase ? text.toLowerCase() : text);
  }
}

class IpRanges implements ListMatcher {
  private readonly ranges = new BlockList();

  constructor(entries: readonly string[]) {
    this.size = entries.length;
    for (const entry of entries) {
      const cidr = parseCidr(entry);
      if (cidr !== null) this.ranges.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  readonly size: number;

  has(value: unknown): boolean {
    const text = stringOf(value);
    if (text === null) return false;
    const version = isIP(text);
    return version !== 0 && this.ranges.check(text, version === 4 ? 'ipv4' : 'ipv6');
  }
}

class RegexList implements ListMatcher {
  private readonly regexes: SearchRegex[];

  constructor(entries: readonly string[]) {
    this.regexes = entries.map((e) => compileSearch(e));
  }

  get size(): number {
    return this.regexes.length;
  }

  has(value: unknown): boolean {
    const text = stringOf(value);
    if (text === null) return false;
    for (const re of this.regexes) if (re.test(text)) return true;
    return false;
  }
}

/** Takes entries already checked by checkListEntry and their type; returns them compiled. */
export function compileList(entries: readonly string[], type: ListEntryType): ListMatcher {
  switch (type) {
    case 'STRINGS':
      return new StringSet(entries, false);
    case 'CASE_INSENSITIVE_STRINGS':
      return new StringSet(entries, true);
    case 'IP_ADDRESSES':
      return new IpRanges(entries);
    case 'REGEX':
      return new RegexList(entries);
  }
}

/** Takes a fetched list's text; returns its entries (one a line, blank lines skipped). */
export function splitListText(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const entry = line.trim();
    if (entry !== '') out.push(entry);
  }
  return out;
}
