// Tokens of the policy expression language (Mixer's CEXL, a subset of Go
// expression syntax, plus CEL's literals): identifiers, numbers, strings in
// "..." '...' `raw` r"raw", and operators. Each token keeps its offset so an
// error can name its column.
import { ExpressionError } from './expression-error.js';

export type TokenKind = 'ident' | 'int' | 'double' | 'string' | 'op' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The operator or identifier text; for a literal, its source text. */
  readonly text: string;
  /** A literal's value. */
  readonly value?: string | number;
  readonly pos: number;
}

const TWO_CHAR_OPS = new Set(['==', '!=', '&&', '||', '<=', '>=']);
const ONE_CHAR_OPS = new Set(['!', '|', '<', '>', '+', '-', '(', ')', '[', ']', '.', ',']);

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'", '`': '`', '?': '?', a: '\x07', b: '\b', f: '\f', v: '\v', '0': '\0',
};

function isIdentStart(c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Takes expression text; returns its tokens ending with one 'eof'. Throws ExpressionError at the first bad character. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const start = i;
    if ((c === 'r' || c === 'R') && (text[i + 1] === '"' || text[i + 1] === "'")) {
      const end = text.indexOf(text[i + 1], i + 2);
      if (end < 0) throw new ExpressionError(start, 'unterminated raw string');
      tokens.push({ kind: 'string', text: text.slice(start, end + 1), value: text.slice(i + 2, end), pos: start });
      i = end + 1;
    } else if (isIdentStart(c)) {
      while (i < text.length && (isIdentStart(text[i]) || isDigit(text[i]))) i++;
      tokens.push({ kind: 'ident', text: text.slice(start, i), pos: start });
    } else if (isDigit(c)) {
      i = readNumber(text, start, tokens);
    } else if (c === '"' || c === "'") {
      i = readQuoted(text, start, tokens);
    } else if (c === '`') {
      const end = text.indexOf('`', i + 1);
      if (end < 0) throw new ExpressionError(start, 'unterminated raw string (no closing `)');
      tokens.push({ kind: 'string', text: text.slice(start, end + 1), value: text.slice(i + 1, end), pos: start });
      i = end + 1;
    } else if (TWO_CHAR_OPS.has(text.slice(i, i + 2))) {
      tokens.push({ kind: 'op', text: text.slice(i, i + 2), pos: start });
      i += 2;
    } else if (ONE_CHAR_OPS.has(c)) {
      tokens.push({ kind: 'op', text: c, pos: start });
      i++;
    } else if (c === '=') {
      throw new ExpressionError(start, "'=' is not an operator: write '==' to compare");
    } else if (c === '&') {
      throw new ExpressionError(start, "'&' is not an operator: write '&&' for a logical and");
    } else {
      const shown = c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c;
      throw new ExpressionError(start, `unexpected character '${shown}'`);
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

/** Reads an int (decimal or 0x hex) or a double (1.5, 2e3); returns the offset after it. */
function readNumber(text: string, start: number, tokens: Token[]): number {
  let i = start;
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    while (i < text.length && /[0-9a-fA-F]/.test(text[i])) i++;
    if (i === start + 2) throw new ExpressionError(start, 'hex number without digits');
    return pushInt(text, start, i, Number.parseInt(text.slice(start + 2, i), 16), tokens);
  }
  while (i < text.length && isDigit(text[i])) i++;
  let isDouble = false;
  if (text[i] === '.' && isDigit(text[i + 1] ?? '')) {
    isDouble = true;
    i++;
    while (i < text.length && isDigit(text[i])) i++;
  }
  if (text[i] === 'e' || text[i] === 'E') {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (!isDigit(text[j] ?? '')) throw new ExpressionError(i, 'exponent without digits');
    while (j < text.length && isDigit(text[j])) j++;
    isDouble = true;
    i = j;
  }
  if (i < text.length && (isIdentStart(text[i]))) {
    throw new ExpressionError(i, `unexpected '${text[i]}' after the number ${text.slice(start, i)} (durations are written duration("${text.slice(start, i)}${text[i]}"))`);
  }
  const literal = text.slice(start, i);
  if (isDouble) {
    tokens.push({ kind: 'double', text: literal, value: Number(literal), pos: start });
    return i;
  }
  return pushInt(text, start, i, Number(literal), tokens);
}

function pushInt(text: string, start: number, end: number, value: number, tokens: Token[]): number {
  if (!Number.isSafeInteger(value)) throw new ExpressionError(start, `the integer ${text.slice(start, end)} is too large (at most 2^53-1)`);
  tokens.push({ kind: 'int', text: text.slice(start, end), value, pos: start });
  return end;
}

/** Reads a "..." or '...' string with escapes; returns the offset after it. */
function readQuoted(text: string, start: number, tokens: Token[]): number {
  const quote = text[start];
  let i = start + 1;
  let value = '';
  for (;;) {
    if (i >= text.length || text[i] === '\n') throw new ExpressionError(start, `unterminated string (no closing ${quote})`);
    const c = text[i];
    if (c === quote) break;
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = text[i + 1] ?? '';
    if (e in SIMPLE_ESCAPES) {
      value += SIMPLE_ESCAPES[e];
      i += 2;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const digits = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = text.slice(i + 2, i + 2 + digits);
      const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === digits ? Number.parseInt(hex, 16) : NaN;
      if (!(code <= 0x10ffff)) throw new ExpressionError(i, `bad escape \\${e}: expected ${digits} hex digits of a code point`);
      value += String.fromCodePoint(code);
      i += 2 + digits;
    } else {
      throw new ExpressionError(i, `unknown escape '\\${e}' in a string (write '\\\\' for a backslash, or use a raw string r"..." for a regex)`);
    }
  }
  tokens.push({ kind: 'string', text: text.slice(start, i + 1), value, pos: start });
  return i + 1;
}
