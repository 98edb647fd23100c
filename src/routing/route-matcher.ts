// One route's `match`, compiled: the path test (prefix, exact path or full
// regex), then header matchers, then query parameter matchers, all of which
// must hold. Regexes are compiled here, once, never per request.

import type { HeaderMatcher, QueryParameterMatcher, RouteMatch } from '../config/bootstrap-types.js';
import { compileFullMatch, type FullMatchRegex } from '../config/re2-regex.js';
import { headerValueForMatch, type RequestView } from './request-view.js';
import { StringMatcher, asciiLower, regionEqualsIgnoreCase } from './string-matcher.js';

export class CompiledHeaderMatcher {
  readonly name: string;
  private readonly matcher: StringMatcher | null;
  private readonly present: boolean;
  private readonly invert: boolean;

  constructor(m: HeaderMatcher) {
    this.name = m.name;
    this.matcher = m.match === null ? null : new StringMatcher(m.match);
    this.present = m.present;
    this.invert = m.invert;
  }

  /** Envoy's semantics: an absent header fails every value matcher, inverted or not. */
  matches(req: RequestView): boolean {
    const value = headerValueForMatch(req, this.name);
    if (this.matcher === null) return ((value !== null) === this.present) !== this.invert;
    if (value === null) return false;
    return this.matcher.matches(value) !== this.invert;
  }
}

class CompiledQueryMatcher {
  private readonly name: string;
  private readonly matcher: StringMatcher | null;

  constructor(m: QueryParameterMatcher) {
    this.name = m.name;
    this.matcher = m.match === null ? null : new StringMatcher(m.match);
  }

  matches(params: ReadonlyMap<string, string>): boolean {
    const value = params.get(this.name);
    if (value === undefined) return false;
    return this.matcher === null || this.matcher.matches(value);
  }
}

export class RouteMatcher {
  private readonly kind: RouteMatch['kind'];
  /** prefix/path literal; lowercased when case-insensitive. */
  private readonly literal: string;
  private readonly caseSensitive: boolean;
  private readonly regex: FullMatchRegex | null;
  private readonly headers: readonly CompiledHeaderMatcher[];
  private readonly queryMatchers: readonly CompiledQueryMatcher[];
  /** Whether matchesQuery needs to be called (and the query parsed). */
  readonly hasQueryMatchers: boolean;

  constructor(match: RouteMatch) {
    this.kind = match.kind;
    this.caseSensitive = match.caseSensitive;
    this.literal = match.kind !== 'safe_regex' && !match.caseSensitive ? asciiLower(match.value) : match.value;
    this.regex = match.kind === 'safe_regex' ? compileFullMatch(match.value) : null;
    this.headers = match.headers.map((h) => new CompiledHeaderMatcher(h));
    this.queryMatchers = match.queryParameters.map((q) => new CompiledQueryMatcher(q));
    this.hasQueryMatchers = this.queryMatchers.length > 0;
  }

  /** Path and header matchers (everything but the query). */
  matchesRequest(req: RequestView): boolean {
    if (!this.matchesPath(req.path)) return false;
    const headers = this.headers;
    for (let i = 0; i < headers.length; i++) if (!headers[i]!.matches(req)) return false;
    return true;
  }

  matchesPath(path: string): boolean {
    const lit = this.literal;
    switch (this.kind) {
      case 'prefix':
        return this.caseSensitive ? path.startsWith(lit) : regionEqualsIgnoreCase(path, 0, lit);
      case 'path':
        if (path.length !== lit.length) return false;
        return this.caseSensitive ? path === lit : regionEqualsIgnoreCase(path, 0, lit);
      case 'safe_regex':
        return this.regex!.testExact(path);
    }
  }

  matchesQuery(params: ReadonlyMap<string, string>): boolean {
    const q = this.queryMatchers;
    for (let i = 0; i < q.length; i++) if (!q[i]!.matches(params)) return false;
    return true;
  }
}
