// Envoy's safe_regex is Google RE2: matching in time linear in the input, so
// a hostile path or header cannot stall a worker (a backtracking engine spends
// seconds on `(a+)+` against 30 characters). We run it with re2js, a pure-JS
// port of RE2 (through RE2/J, Go's regexp): the same syntax, the same automata
// (one-pass, lazy DFA with a memory budget, then Pike VM), no native build.
//
// Program size: Envoy refuses a regex whose compiled RE2 program is larger
// than google_re2.max_program_size, or 100 (its runtime default) when unset.
// re2js's programSize() is the instruction count of its compiled program, the
// same measure as C++ RE2's ProgramSize(), counted by the Go/RE2J compiler:
// the numbers agree closely but not to the instruction.
//
// re2js (~1 MB of JS, ~7 MB RSS once compiled) loads on the first regex, so a
// config without regexes costs nothing.
import { createRequire } from 'node:module';
import type * as Re2js from 're2js';

/** Envoy's default limit (runtime re2.max_program_size.error_level). */
export const DEFAULT_MAX_PROGRAM_SIZE = 100;
/** The limit Istio's bootstrap sets (re2.max_program_size.error_level: 32768) for the regexes it translates. */
export const ISTIO_MAX_PROGRAM_SIZE = 32768;

/** A compiled RE2 regex; testExact(s) is true when the whole of s matches (Envoy's full-match semantics). */
export interface FullMatchRegex {
  testExact(input: string): boolean;
}

let engine: typeof Re2js.RE2JS | null = null;

function re2(): typeof Re2js.RE2JS {
  if (engine === null) engine = (createRequire(import.meta.url)('re2js') as typeof Re2js).RE2JS;
  return engine;
}

/** Takes an RE2 pattern; returns a hint when it uses what RE2 lacks (lookaround, backreferences), else null. */
function unsupportedFeature(pattern: string): string | null {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (next >= '1' && next <= '9') return `uses a backreference (\\${next}), which RE2 does not support`;
      if (next === 'k' && pattern[i + 2] === '<') return 'uses a named backreference (\\k<...>), which RE2 does not support';
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === ']') i++; // `[]...]`: a leading ] is literal
    } else if (c === '(' && pattern[i + 1] === '?') {
      const head = pattern.slice(i + 2, i + 4);
      if (head[0] === '=' || head[0] === '!' || head === '<=' || head === '<!') {
        return 'uses a lookaround assertion, which RE2 does not support';
      }
    }
  }
  return null;
}

/**
 * A full-match regex that first checks RE2's literal prefix (the string every match starts with, e.g. `/api/v` for
 * `/api/v[0-9]+/.*`): a route regex is mostly tried against paths it does not match, and startsWith is ~30 times
 * cheaper than running the automaton.
 */
class PrefixedFullMatch implements FullMatchRegex {
  private readonly prefix: string;

  constructor(private readonly re: Re2js.RE2JS) {
    const prefix: unknown = re.re2().prefix;
    this.prefix = typeof prefix === 'string' ? prefix : '';
  }

  testExact(input: string): boolean {
    return input.startsWith(this.prefix) && this.re.testExact(input);
  }
}

/** Takes an RE2 pattern; returns it compiled for full matches. Throws on a pattern RE2 refuses. */
export function compileFullMatch(pattern: string, ignoreCase = false): FullMatchRegex {
  const RE2JS = re2();
  return new PrefixedFullMatch(RE2JS.compile(pattern, ignoreCase ? RE2JS.CASE_INSENSITIVE : 0));
}

/** A compiled RE2 regex; test(s) is true when it matches anywhere in s (a search, as Envoy's admin ?filter=). */
export interface SearchRegex {
  test(input: string): boolean;
}

/** Takes an RE2 pattern (e.g. an admin query's filter); returns it compiled for searching. Throws on a pattern RE2 refuses. */
export function compileSearch(pattern: string): SearchRegex {
  const hint = unsupportedFeature(pattern);
  if (hint !== null) throw new Error(hint);
  return re2().compile(pattern);
}

/**
 * Takes an RE2 pattern and the program size limit; returns a problem message (to follow the field's path), or
 * null when RE2 accepts the pattern within the limit.
 */
export function checkRe2(pattern: string, maxProgramSize = DEFAULT_MAX_PROGRAM_SIZE): string | null {
  const hint = unsupportedFeature(pattern);
  if (hint !== null) return hint;
  let size: number;
  try {
    size = re2().compile(pattern).programSize();
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, '');
    return `is not a valid regular expression (RE2 syntax): ${why}`;
  }
  if (size > maxProgramSize) {
    const raise = maxProgramSize === DEFAULT_MAX_PROGRAM_SIZE ? ", or raise google_re2.max_program_size (100 is Envoy's default)" : '';
    return `compiles to an RE2 program of size ${size}, over the limit of ${maxProgramSize} (simplify the regex${raise})`;
  }
  return null;
}

/** Takes a pattern RE2 accepts; returns its program size (Envoy's re2.program_size). */
export function re2ProgramSize(pattern: string): number {
  return re2().compile(pattern).programSize();
}
