// Checks text in the Prometheus exposition format 0.0.4 the way a scraper
// and promtool read it: every line parses, HELP and TYPE at most once per
// family and before its samples, a family's samples together, no series
// twice, histograms well formed (le buckets cumulative, +Inf = _count), and
// optionally Prometheus's naming rules (counters end in _total). Also runs
// promtool itself when it is on the PATH.
import { spawnSync } from 'node:child_process';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly problems: string[];
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

function parseLabels(text: string, where: string, problems: string[]): Record<string, string> | null {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (m === null) {
      problems.push(`${where}: bad label set {${text}}`);
      return null;
    }
    if (Object.hasOwn(labels, m[1]!)) problems.push(`${where}: label ${m[1]} twice`);
    labels[m[1]!] = m[2]!;
    if (m[3] === '') break;
  }
  return labels;
}

/** The family a sample belongs to: histogram/summary suffixes fold into their declared family. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const type = types.get(base);
    if (type === 'histogram' || (type === 'summary' && suffix !== '_bucket')) return base;
  }
  return name;
}

/** Takes exposition text; returns its samples and every problem found (`strictNames`: counters must end in _total). */
export function checkExposition(text: string, strictNames: boolean): Exposition {
  const problems: string[] = [];
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  const finished = new Set<string>();
  const seriesSeen = new Set<string>();
  let current: string | null = null;
  if (text.length > 0 && !text.endsWith('\n')) problems.push('the text does not end with a newline');
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (m === null) return; // a plain comment
      const [, what, name, rest] = m as unknown as [string, string, string, string | undefined];
      if (!NAME.test(name)) problems.push(`${where}: bad metric name ${name}`);
      if (what === 'HELP') {
        if (helps.has(name)) problems.push(`${where}: second HELP for ${name}`);
        helps.add(name);
      } else {
        if (types.has(name)) problems.push(`${where}: second TYPE for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest ?? '')) problems.push(`${where}: bad TYPE ${rest} for ${name}`);
        if (samples.some((s) => familyOf(s.name, types) === name)) problems.push(`${where}: TYPE for ${name} after its samples`);
        types.set(name, rest ?? '');
        if (strictNames && rest === 'counter' && !name.endsWith('_total')) problems.push(`${where}: counter ${name} does not end in _total`);
      }
      return;
    }
    const m = /^([^\s{]+)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/.exec(line);
    if (m === null) {
      problems.push(`${where}: not a sample: ${line.slice(0, 80)}`);
      return;
    }
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    if (!NAME.test(name)) problems.push(`${where}: bad metric name ${name}`);
    if (!VALUE.test(valueText)) problems.push(`${where}: bad value ${valueText}`);
    const labels = labelText === undefined || labelText === '' ? {} : parseLabels(labelText, where, problems) ?? {};
    const family = familyOf(name, types);
    if (family !== current) {
      if (current !== null) finished.add(current);
      if (finished.has(family)) problems.push(`${where}: samples of ${family} are not together`);
      current = family;
    }
    const series = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${v}`).join(',')}}`;
    if (seriesSeen.has(series)) problems.push(`${where}: series ${series} twice`);
    seriesSeen.add(series);
    const value = valueText.endsWith('Inf') ? (valueText.startsWith('-') ? -Infinity : Infinity) : Number(valueText);
    if (types.get(family) === 'counter' && !(value >= 0)) problems.push(`${where}: counter ${name} is ${valueText}`);
    samples.push({ name, labels, value });
  });
  // Histograms: per label set (without le), cumulative buckets ending in +Inf, equal to _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, { le: number; value: number }[]>();
    const counts = new Map<string, number>();
    const key = (labels: Readonly<Record<string, string>>): string => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
    for (const s of samples) {
      if (s.name === `${family}_bucket`) {
        if (s.labels.le === undefined) problems.push(`${family}_bucket without le`);
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        const list = groups.get(key(s.labels)) ?? [];
        list.push({ le, value: s.value });
        groups.set(key(s.labels), list);
      } else if (s.name === `${family}_count`) counts.set(key(s.labels), s.value);
    }
    for (const [k, list] of groups) {
      list.sort((a, b) => a.le - b.le);
      if (list.at(-1)?.le !== Infinity) problems.push(`histogram ${family}${k} has no +Inf bucket`);
      for (let i = 1; i < list.length; i++) if (list[i]!.value < list[i - 1]!.value) problems.push(`histogram ${family}${k} buckets are not cumulative`);
      if (counts.get(k) !== list.at(-1)?.value) problems.push(`histogram ${family}${k}: _count ${counts.get(k)} differs from the +Inf bucket ${list.at(-1)?.value}`);
    }
  }
  return { problems, types, samples };
}

/** Runs `promtool check metrics` on the text when promtool is on the PATH; null when it is not. */
export function promtoolCheck(text: string): { code: number; output: string } | null {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (r.error !== undefined && (r.error as NodeJS.ErrnoException).code === 'ENOENT') return null;
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}`.trim() };
}

/** The value of the one sample `name` with exactly these labels (undefined when absent). */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return e.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
