// A compiled envoy StringMatcher. Built once per table; `matches` allocates
// nothing: case-insensitive comparisons fold ASCII letters code by code
// (Envoy's ignore_case is ASCII-only too) instead of lowercasing strings.

import type { StringMatch, StringMatchKind } from '../config/bootstrap-types.js';
import { compileFullMatch, type FullMatchRegex } from '../config/re2-regex.js';

/** Compares text[offset, offset + lower.length) with `lower` (already lowercased), ignoring ASCII case. */
export function regionEqualsIgnoreCase(text: string, offset: number, lower: string): boolean {
  const n = lower.length;
  if (offset < 0 || offset + n > text.length) return false;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(offset + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** ASCII-only lowercase, matching regionEqualsIgnoreCase's folding. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

export class StringMatcher {
  private readonly kind: StringMatchKind;
  private readonly value: string;
  private readonly ignoreCase: boolean;
  private readonly regex: FullMatchRegex | null;

  constructor(match: StringMatch) {
    this.kind = match.kind;
    this.ignoreCase = match.ignoreCase && match.kind !== 'regex';
    this.value = this.ignoreCase ? asciiLower(match.value) : match.value;
    this.regex = match.kind === 'regex' ? compileFullMatch(match.value, match.ignoreCase) : null;
  }

  matches(input: string): boolean {
    const v = this.value;
    switch (this.kind) {
      case 'exact':
        return this.ignoreCase ? input.length === v.length && regionEqualsIgnoreCase(input, 0, v) : input === v;
      case 'prefix':
        return this.ignoreCase ? regionEqualsIgnoreCase(input, 0, v) : input.startsWith(v);
      case 'suffix':
        return this.ignoreCase ? regionEqualsIgnoreCase(input, input.length - v.length, v) : input.endsWith(v);
      case 'contains':
        if (!this.ignoreCase) return input.includes(v);
        for (let i = 0; i + v.length <= input.length; i++) if (regionEqualsIgnoreCase(input, i, v)) return true;
        return false;
      case 'regex':
        return this.regex!.testExact(input);
    }
  }
}
