// %START_TIME% and %START_TIME(FORMAT)%: an epoch-ms time written in UTC with
// a strftime-style format, as Envoy does (plus its %s, %f, %Nf and %ENS
// specifiers). The format is split once into tokens; what depends only on
// the second is rendered once per second and kept, so a request pays for the
// sub-second digits and one concatenation.
import { isoTime } from './access-log-line.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A token: literal text, a whole-second field (rendered from a Date), or fractional-second digits. */
type Token =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'second'; readonly render: (d: Date) => string }
  /** digits of the fraction; withSeconds: "SS." before them (%E3S). */
  | { readonly kind: 'fraction'; readonly digits: number; readonly withSeconds: boolean };

const pad2 = (n: number): string => (n < 10 ? '0' + n : '' + n);
const pad3 = (n: number): string => (n < 10 ? '00' + n : n < 100 ? '0' + n : '' + n);

const SECOND_FIELDS: Readonly<Record<string, (d: Date) => string>> = {
  Y: (d) => '' + d.getUTCFullYear(),
  y: (d) => pad2(d.getUTCFullYear() % 100),
  C: (d) => pad2(Math.floor(d.getUTCFullYear() / 100)),
  m: (d) => pad2(d.getUTCMonth() + 1),
  d: (d) => pad2(d.getUTCDate()),
  e: (d) => (d.getUTCDate() < 10 ? ' ' : '') + d.getUTCDate(),
  H: (d) => pad2(d.getUTCHours()),
  I: (d) => pad2(((d.getUTCHours() + 11) % 12) + 1),
  M: (d) => pad2(d.getUTCMinutes()),
  S: (d) => pad2(d.getUTCSeconds()),
  p: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  j: (d) => pad3(Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86_400_000) + 1),
  a: (d) => DAYS[d.getUTCDay()]!,
  A: (d) => DAY_NAMES[d.getUTCDay()]!,
  u: (d) => '' + (d.getUTCDay() === 0 ? 7 : d.getUTCDay()),
  w: (d) => '' + d.getUTCDay(),
  b: (d) => MONTHS[d.getUTCMonth()]!,
  h: (d) => MONTHS[d.getUTCMonth()]!,
  B: (d) => MONTH_NAMES[d.getUTCMonth()]!,
  z: () => '+0000',
  Z: () => 'UTC',
  s: (d) => '' + Math.floor(d.getTime() / 1000),
  T: (d) => pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()) + ':' + pad2(d.getUTCSeconds()),
  R: (d) => pad2(d.getUTCHours()) + ':' + pad2(d.getUTCMinutes()),
  F: (d) => d.getUTCFullYear() + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate()),
  D: (d) => pad2(d.getUTCMonth() + 1) + '/' + pad2(d.getUTCDate()) + '/' + pad2(d.getUTCFullYear() % 100),
};

/** `%E*S`/`%E*f`: Envoy writes the fraction's significant digits; milliseconds are what we have. */
const STAR_DIGITS = 3;

function tokenize(format: string): Token[] {
  const tokens: Token[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') tokens.push({ kind: 'text', text });
    text = '';
  };
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%' || i + 1 >= format.length) {
      text += c;
      continue;
    }
    const next = format[i + 1]!;
    const ens = /^E([1-9*])([Sf])/.exec(format.slice(i + 1));
    const nf = /^([1-9])f/.exec(format.slice(i + 1));
    if (next === '%') {
      text += '%';
      i++;
    } else if (next === 'n' || next === 't') {
      text += next === 'n' ? '\n' : '\t';
      i++;
    } else if (next === 'E' && format[i + 2] === 'z') {
      flush();
      tokens.push({ kind: 'text', text: '+00:00' });
      i += 2;
    } else if (ens !== null) {
      flush();
      tokens.push({ kind: 'fraction', digits: ens[1] === '*' ? STAR_DIGITS : Number(ens[1]), withSeconds: ens[2] === 'S' });
      i += 3;
    } else if (nf !== null) {
      flush();
      tokens.push({ kind: 'fraction', digits: Number(nf[1]), withSeconds: false });
      i += 2;
    } else if (next === 'f') {
      flush();
      tokens.push({ kind: 'fraction', digits: 9, withSeconds: false });
      i++;
    } else if (SECOND_FIELDS[next] !== undefined) {
      flush();
      tokens.push({ kind: 'second', render: SECOND_FIELDS[next] });
      i++;
    } else {
      text += c; // an unknown specifier stays as written, as strftime leaves it
    }
  }
  flush();
  return tokens;
}

/** Digits of the fraction of a second, `digits` long (nanosecond resolution from a float ms time). */
function fractionDigits(epochMs: number, second: number, digits: number): string {
  const nanos = Math.min(999_999_999, Math.max(0, Math.floor((epochMs - second * 1000) * 1e6)));
  const nine = '' + nanos;
  return ('000000000'.slice(nine.length) + nine).slice(0, digits);
}

export class StartTimeFormat {
  private readonly tokens: readonly Token[];
  /** Only whole-second tokens: the line for a second is the cached string itself. */
  private readonly wholeSecond: boolean;
  private second = NaN;
  /** Per token, its text for `second` ('' for fraction tokens). */
  private readonly rendered: string[];
  private renderedWhole = '';
  private secondsText = '';

  /** format: '' for Envoy's default (2026-12-06T11:42:45.123Z). */
  constructor(readonly format: string) {
    this.tokens = format === '' ? [] : tokenize(format);
    this.wholeSecond = this.tokens.every((t) => t.kind !== 'fraction');
    this.rendered = this.tokens.map(() => '');
  }

  render(epochMs: number): string {
    if (this.format === '') return isoTime(epochMs);
    const second = Math.floor(epochMs / 1000);
    if (second !== this.second) this.renderSecond(second);
    if (this.wholeSecond) return this.renderedWhole;
    let out = '';
    for (let i = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      if (t.kind === 'fraction') out += (t.withSeconds ? this.secondsText + '.' : '') + fractionDigits(epochMs, second, t.digits);
      else out += this.rendered[i]!;
    }
    return out;
  }

  private renderSecond(second: number): void {
    const d = new Date(second * 1000);
    this.second = second;
    this.secondsText = pad2(d.getUTCSeconds());
    let whole = '';
    for (let i = 0; i < this.tokens.length; i++) {
      const t = this.tokens[i]!;
      const s = t.kind === 'text' ? t.text : t.kind === 'second' ? t.render(d) : '';
      this.rendered[i] = s;
      whole += s;
    }
    this.renderedWhole = whole;
  }
}
