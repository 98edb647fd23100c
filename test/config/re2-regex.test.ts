// The RE2 compiler behind every safe_regex: RE2's syntax and full-match
// semantics, linear-time matching, and Envoy's program size limit.
import { describe, expect, it } from 'vitest';
import { checkRe2, compileFullMatch, DEFAULT_MAX_PROGRAM_SIZE, ISTIO_MAX_PROGRAM_SIZE, re2ProgramSize } from '../../src/config/re2-regex.js';

describe('compileFullMatch', () => {
  it('matches the whole input, as Envoy does', () => {
    const r = compileFullMatch('/api/v[0-9]+/users/[^/]+');
    expect(r.testExact('/api/v2/users/alice')).toBe(true);
    expect(r.testExact('/api/v2/users/alice/x')).toBe(false);
    expect(r.testExact('x/api/v2/users/alice')).toBe(false);
    // An alternation is anchored as a whole, not branch by branch.
    expect(compileFullMatch('a|ab').testExact('ab')).toBe(true);
  });

  it("checks RE2's literal prefix first without changing what matches", () => {
    expect(compileFullMatch('/static/.*').testExact('/api/x')).toBe(false);
    expect(compileFullMatch('/static/.*').testExact('/static/')).toBe(true);
    expect(compileFullMatch('/API/[a-z]+', true).testExact('/api/x')).toBe(true);
    expect(compileFullMatch('(?i)/Api/[a-z]+').testExact('/aPI/x')).toBe(true);
    expect(compileFullMatch('/é+').testExact('/éé')).toBe(true);
    expect(compileFullMatch('/x|/y').testExact('/y')).toBe(true);
  });

  it('runs in linear time on patterns a backtracking engine takes exponential time on', () => {
    // Each of these takes a backtracking engine about 2^64 (or 1.6^64) steps: a test that never ends on RegExp.
    const run = 'a'.repeat(64);
    expect(compileFullMatch('/(a+)+').testExact(`/${run}!`)).toBe(false);
    expect(compileFullMatch('(a|aa)+').testExact(`${run}!`)).toBe(false);
    expect(compileFullMatch('(a*)*b').testExact(`${run}!`)).toBe(false);
    expect(compileFullMatch('(.*a){12}').testExact(`${run}!`)).toBe(false);
    expect(compileFullMatch('/(a+)+').testExact(`/${run}`)).toBe(true);
  });

  it("speaks RE2's syntax: POSIX classes, Unicode classes, named groups, inline flags, \\Q...\\E", () => {
    expect(compileFullMatch('[[:alpha:]]+').testExact('abc')).toBe(true);
    expect(compileFullMatch('\\pL+').testExact('héllo')).toBe(true);
    expect(compileFullMatch('\\p{Greek}+').testExact('αβγ')).toBe(true);
    expect(compileFullMatch('(?P<id>[0-9]+)').testExact('42')).toBe(true);
    expect(compileFullMatch('(?i)/API/.*').testExact('/api/x')).toBe(true);
    expect(compileFullMatch('/a(?i:B)c').testExact('/abc')).toBe(true);
    expect(compileFullMatch('/a(?i:B)c').testExact('/abC')).toBe(false);
    expect(compileFullMatch('\\Qa.b\\E').testExact('a.b')).toBe(true);
    expect(compileFullMatch('\\Qa.b\\E').testExact('axb')).toBe(false);
    // `.` does not match a newline unless (?s).
    expect(compileFullMatch('a.c').testExact('a\nc')).toBe(false);
    expect(compileFullMatch('(?s)a.c').testExact('a\nc')).toBe(true);
  });
});

describe('checkRe2', () => {
  it('accepts what RE2 accepts', () => {
    expect(checkRe2('/api/v[0-9]+/users/[^/]+')).toBeNull();
    expect(checkRe2('[[:digit:]]{3}')).toBeNull();
  });

  it('refuses what RE2 refuses, saying why', () => {
    expect(checkRe2('/static/(?!private).*')).toMatch(/lookaround assertion/);
    expect(checkRe2('(a)\\1')).toMatch(/backreference/);
    expect(checkRe2('[a-z')).toMatch(/^is not a valid regular expression \(RE2 syntax\): missing closing \]/);
    // JavaScript accepts these; RE2 does not.
    expect(checkRe2('a{1001}')).toMatch(/invalid repeat count/);
    expect(checkRe2('a**')).toMatch(/invalid nested repetition operator/);
    expect(checkRe2('\\C')).toMatch(/invalid escape sequence/);
  });

  it("enforces Envoy's program size limit: 100 by default, or the one given", () => {
    expect(re2ProgramSize('/api/v[0-9]+/users/[^/]+')).toBeLessThan(DEFAULT_MAX_PROGRAM_SIZE);
    const big = '/(x|y)[a-z]{120}';
    expect(re2ProgramSize(big)).toBeGreaterThan(DEFAULT_MAX_PROGRAM_SIZE);
    expect(checkRe2(big)).toMatch(
      /^compiles to an RE2 program of size \d+, over the limit of 100 \(simplify the regex, or raise google_re2\.max_program_size/,
    );
    expect(checkRe2(big, 1000)).toBeNull();
    expect(checkRe2(big, ISTIO_MAX_PROGRAM_SIZE)).toBeNull();
    expect(checkRe2('[a-z]{500}', 200)).toMatch(/over the limit of 200 \(simplify the regex\)$/);
  });
});
