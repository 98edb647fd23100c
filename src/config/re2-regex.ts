// Envoy's safe_regex is RE2. JavaScript's RegExp accepts nearly all of RE2's
// syntax, and RE2's guarantee (linear time, no backtracking blow-up) holds for
// the patterns RE2 accepts as long as we refuse what RE2 lacks: lookaround and
// backreferences. Two RE2 spellings JS lacks are translated: `(?P<name>` and a
// leading `(?i)`.

export interface Re2Source {
  /** JavaScript source, anchored for a full match. */
  readonly source: string;
  readonly ignoreCase: boolean;
}

/** Takes an RE2 pattern; returns why RE2 would refuse it, or null when it is acceptable. */
export function re2Incompatibility(pattern: string): string | null {
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

/** Translates an RE2 pattern to an anchored JavaScript source (full match, as Envoy's safe_regex). */
export function toFullMatchSource(pattern: string, ignoreCase: boolean): Re2Source {
  let body = pattern;
  let icase = ignoreCase;
  if (body.startsWith('(?i)')) {
    body = body.slice(4);
    icase = true;
  }
  body = body.replace(/\(\?P</g, '(?<');
  return { source: `^(?:${body})$`, ignoreCase: icase };
}

/** Takes an RE2 pattern; returns a RegExp that tests a full match. Throws SyntaxError on a bad pattern. */
export function compileFullMatch(pattern: string, ignoreCase = false): RegExp {
  const { source, ignoreCase: icase } = toFullMatchSource(pattern, ignoreCase);
  return new RegExp(source, icase ? 'i' : '');
}

/** Takes an RE2 pattern; returns a problem message, or null when it compiles and RE2 would accept it. */
export function checkRe2(pattern: string): string | null {
  const why = re2Incompatibility(pattern);
  if (why !== null) return why;
  try {
    compileFullMatch(pattern);
    return null;
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
}
