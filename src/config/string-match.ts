// envoy.type.matcher.v3.StringMatcher, and the two route matchers built on it:
// config.route.v3.HeaderMatcher and QueryParameterMatcher.

import type { HeaderMatcher, QueryParameterMatcher, StringMatch, StringMatchKind } from './bootstrap-types.js';
import { checkRe2, DEFAULT_MAX_PROGRAM_SIZE } from './re2-regex.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9a-z]+$/;
/** Pseudo-headers a route may match on (the rest of a request's pseudo-headers are not known here). */
const MATCHABLE_PSEUDO_HEADERS = [':authority', ':method', ':path'];

/** A lowercased, valid header field name (for matchers and header mutations). */
export function readHeaderName(v: ValueReader, allowPseudo: boolean): string | undefined {
  const raw = v.nonEmptyString();
  if (raw === undefined) return undefined;
  const name = raw.toLowerCase();
  if (!HEADER_NAME.test(name)) {
    v.problem(`is not a valid header name: "${raw}"`);
    return undefined;
  }
  if (name.startsWith(':') && !(allowPseudo && MATCHABLE_PSEUDO_HEADERS.includes(name))) {
    v.problem(allowPseudo ? `may name only the pseudo-headers ${MATCHABLE_PSEUDO_HEADERS.join(', ')}` : 'must not be a pseudo-header');
    return undefined;
  }
  return name;
}

/**
 * A RegexMatcher (`regex`, optional `google_re2`); reports by path a pattern RE2 refuses or one whose program is
 * over `google_re2.max_program_size` (Envoy's default limit, 100, when unset).
 */
export function readRegexMatcher(v: ValueReader): string | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const regexField = obj.field('regex');
  regexField.require();
  const regex = regexField.nonEmptyString();
  // google_re2 is deprecated in Envoy but still honoured; `google_re2: {}` is common in examples.
  const engineObj = obj.field('google_re2').object();
  const sizeField = engineObj?.field('max_program_size');
  const configuredSize = sizeField?.integer(1, UINT32_MAX);
  const sizeOk = sizeField === undefined || sizeField.missing || configuredSize !== undefined;
  const maxProgramSize = configuredSize ?? DEFAULT_MAX_PROGRAM_SIZE;
  engineObj?.done();
  obj.done();
  if (regex === undefined || !sizeOk) return undefined;
  const problem = checkRe2(regex, maxProgramSize);
  if (problem !== null) {
    regexField.problem(problem);
    return undefined;
  }
  return regex;
}

const STRING_MATCH_FIELDS = ['exact', 'prefix', 'suffix', 'contains', 'safe_regex'] as const;

/** envoy.type.matcher.v3.StringMatcher */
export function readStringMatch(v: ValueReader): StringMatch | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(STRING_MATCH_FIELDS, true);
  const ignoreCaseField = obj.field('ignore_case');
  const ignoreCase = ignoreCaseField.bool() ?? false;
  let result: StringMatch | undefined;
  if (which === 'safe_regex') {
    if (ignoreCase) ignoreCaseField.problem('has no effect on safe_regex and is rejected (use (?i) in the regex)');
    const regex = readRegexMatcher(obj.field('safe_regex'));
    if (regex !== undefined) result = { kind: 'regex', value: regex, ignoreCase: false };
  } else if (which !== undefined && which !== null) {
    const f = obj.field(which);
    const value = which === 'exact' ? f.string() : f.nonEmptyString();
    if (value !== undefined) result = { kind: which, value, ignoreCase };
  }
  obj.done();
  return result;
}

const HEADER_MATCH_FIELDS = [
  'exact_match', 'prefix_match', 'suffix_match', 'contains_match', 'safe_regex_match', 'present_match', 'string_match',
] as const;
const LEGACY_KIND: Record<string, StringMatchKind> = {
  exact_match: 'exact', prefix_match: 'prefix', suffix_match: 'suffix', contains_match: 'contains',
};

/** config.route.v3.HeaderMatcher; no specifier means "present" (as in Envoy). */
export function readHeaderMatcher(v: ValueReader): HeaderMatcher | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = readHeaderName(nameField, true);
  const invert = obj.field('invert_match').bool() ?? false;
  const which = obj.oneOf(HEADER_MATCH_FIELDS, false);
  let match: StringMatch | null = null;
  let present = true;
  let ok = true;
  if (which === 'string_match') {
    const m = readStringMatch(obj.field('string_match'));
    if (m === undefined) ok = false;
    else match = m;
  } else if (which === 'safe_regex_match') {
    const regex = readRegexMatcher(obj.field('safe_regex_match'));
    if (regex === undefined) ok = false;
    else match = { kind: 'regex', value: regex, ignoreCase: false };
  } else if (which === 'present_match') {
    const p = obj.field('present_match').bool();
    if (p === undefined) ok = false;
    else present = p;
  } else if (which !== undefined && which !== null) {
    const f = obj.field(which);
    const value = which === 'exact_match' ? f.string() : f.nonEmptyString();
    if (value === undefined) ok = false;
    else match = { kind: LEGACY_KIND[which]!, value, ignoreCase: false };
  } else if (which === null) {
    ok = false; // oneOf reported it
  }
  obj.done();
  if (name === undefined || !ok) return undefined;
  return { name, match, present, invert };
}

/** config.route.v3.QueryParameterMatcher; names are case-sensitive, as in Envoy. */
export function readQueryParameterMatcher(v: ValueReader): QueryParameterMatcher | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.nonEmptyString();
  const which = obj.oneOf(['string_match', 'present_match'], false);
  let match: StringMatch | null = null;
  let ok = true;
  if (which === 'string_match') {
    const m = readStringMatch(obj.field('string_match'));
    if (m === undefined) ok = false;
    else match = m;
  } else if (which === 'present_match') {
    const f = obj.field('present_match');
    const p = f.bool();
    if (p === false) f.problem('must be true (Envoy treats false as true; remove it or set true)');
    if (p !== true) ok = false;
  } else if (which === null) {
    ok = false;
  }
  obj.done();
  if (name === undefined || !ok) return undefined;
  return { name, match };
}
