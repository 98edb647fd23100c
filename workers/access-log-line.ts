// The pieces access-log lines are built from by hand (a general-purpose
// serializer, pino's or JSON.stringify, walked an object per request and was
// most of the log's cost): jsonEscape, which leaves the common case (plain
// printable ASCII) untouched and otherwise writes every quote, backslash,
// control character and non-ASCII code unit as a JSON escape, so the line is
// pure ASCII whatever the peer sent (header values arrive latin1-decoded, one
// char per byte; a lone surrogate cannot break it either).

/** Any char that cannot stand as itself inside a JSON string of an ASCII line. */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const SHORT_ESCAPES: Readonly<Record<number, string>> = { 0x22: '\\"', 0x5c: '\\\\', 0x08: '\\b', 0x0c: '\\f', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t' };
const HEX = '0123456789abcdef';

function unicodeEscape(c: number): string {
  return '\\u' + HEX[(c >> 12) & 15]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!;
}

/** The contents of a JSON string (without its quotes) that parses back to s, in printable ASCII only. */
export function jsonEscape(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) continue;
    if (i > last) out += s.slice(last, i);
    out += SHORT_ESCAPES[c] ?? unicodeEscape(c);
    last = i + 1;
  }
  return last < s.length ? out + s.slice(last) : out;
}

let isoSecond = NaN;
let isoPrefix = '';
/**
 * The same prefix as bytes, for LineWriter.isoTime: the string is a slice of toISOString()'s (a sliced string,
 * whose every charCodeAt goes through its parent), and copying 20 bytes from an array is the cheaper loop.
 */
export const isoPrefixBytes = new Uint8Array(20);

/**
 * takes an epoch second; returns toISOString()'s text up to its fraction ("2026-12-06T11:42:45."), made once per
 * second and shared by isoTime and LineWriter.isoTime; '' for years beyond 9999 (a longer form, not cached).
 */
export function isoSecondPrefix(second: number): string {
  if (second !== isoSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2026-12-06T11:42:45.000Z
    if (iso.length !== 24) return '';
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
    for (let i = 0; i < 20; i++) isoPrefixBytes[i] = iso.charCodeAt(i);
  }
  return isoPrefix;
}

/** toISOString() of an epoch-ms time, with the part up to the second computed once per second. */
export function isoTime(epochMs: number): string {
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  const prefix = isoSecondPrefix(second);
  if (prefix === '') return new Date(ms).toISOString();
  const frac = ms - second * 1000;
  return prefix + (frac < 10 ? '00' : frac < 100 ? '0' : '') + frac + 'Z';
}
