// timestamp("2015-01-02T15:04:35Z") and duration("1.5s") of the expression
// language: RFC 3339 timestamps to epoch milliseconds, Go-syntax durations
// (as Mixer and CEL write them: 300ms, 1h30m, 2.5s, -1s) to milliseconds.

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Takes RFC 3339 text; returns milliseconds since the epoch, or null if it is not a valid timestamp. */
export function parseTimestamp(text: string): number | null {
  const m = RFC3339.exec(text);
  if (m === null) return null;
  const [, , month, day, hour, minute, second] = m.map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isFinite(ms) ? ms : null;
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Takes Go duration text ('1h30m', '250ms', '0'); returns milliseconds, or null if it is not a duration. */
export function parseDuration(text: string): number | null {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '' || rest.length > 64) return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < rest.length) {
    const m = DURATION_PART.exec(rest);
    if (m === null) return null;
    total += Number(m[1]) * UNIT_MS[m[2]];
  }
  return sign * total;
}
