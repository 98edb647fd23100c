// Reads the Prometheus text exposition format (0.0.4) that a sidecar's
// /stats/prometheus serves, keeping only the families asked for. The text
// comes from a peer: the caller caps its size, and here the work is bounded
// too (lines are scanned once, other families skipped by name before any
// label is parsed, at most `maxSeries` samples kept, label sets and label
// values capped), and a malformed line is skipped and counted, never thrown.

export interface Sample {
  /** The series as written (name and labels, no value): a stable key for deltas between scrapes of one target. */
  readonly id: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParseOptions {
  /** Metric names to keep (exact sample names, e.g. `istio_request_duration_milliseconds_bucket`). */
  readonly names: ReadonlySet<string>;
  /** Samples kept at most; the rest are counted in `truncated`. */
  readonly maxSeries: number;
  /** Labels per sample at most (a longer set is malformed). */
  readonly maxLabels?: number;
  /**
   * Characters per label value at most (a longer value makes the line malformed). The values become the
   * dashboard's node and edge names, kept for minutes and sent to every viewer: without this, a sidecar
   * that serves one 4 MiB name per edge grows the control plane by gigabytes.
   */
  readonly maxLabelValueChars?: number;
}

/** Longer than any Istio label value (DNS names are at most 253 characters, SPIFFE principals a few hundred). */
export const DEFAULT_MAX_LABEL_VALUE_CHARS = 1024;

export interface ParseResult {
  readonly samples: Sample[];
  /** Lines of wanted families that could not be read. */
  readonly malformed: number;
  /** Wanted samples left out once `maxSeries` was reached. */
  readonly truncated: number;
}

function numberOf(text: string): number | undefined {
  switch (text) {
    case '+Inf': return Number.POSITIVE_INFINITY;
    case '-Inf': return Number.NEGATIVE_INFINITY;
    case 'NaN': return Number.NaN;
    default: {
      // One way to match each string (`\d+\.?\d*` splits a digit run every way, quadratic on a long non-number).
      if (text === '' || !/^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) return undefined;
      return Number(text);
    }
  }
}

/** Reads `{a="x",b="y"}` from `line` at `start` (the `{`); returns the labels and the index after `}`, or undefined. */
function readLabels(line: string, start: number, maxLabels: number, maxValueChars: number): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = start + 1;
  let count = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === ',') i++;
    if (line[i] === '}') return { labels, end: i + 1 };
    const eq = line.indexOf('=', i);
    if (eq < 0) return undefined;
    const key = line.slice(i, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key) || line[eq + 1] !== '"') return undefined;
    let value = '';
    let j = eq + 2;
    for (;;) {
      const c = line[j];
      if (c === undefined) return undefined;
      if (c === '"') break;
      if (c === '\\') {
        const n = line[j + 1];
        value += n === 'n' ? '\n' : n === '\\' ? '\\' : n === '"' ? '"' : `\\${n ?? ''}`;
        j += 2;
        if (value.length > maxValueChars) return undefined;
        continue;
      }
      // Copy a run of plain characters at once.
      let k = j;
      while (k < line.length && line[k] !== '"' && line[k] !== '\\') k++;
      if (value.length + (k - j) > maxValueChars) return undefined; // measured before any string is made of it
      value += line.slice(j, k);
      j = k;
    }
    if (++count > maxLabels) return undefined;
    labels[key] = value;
    i = j + 1;
  }
}

/** Takes the exposition text; returns the wanted samples (in text order), bounded as the options say. */
export function parsePrometheusText(text: string, options: ParseOptions): ParseResult {
  const samples: Sample[] = [];
  const maxLabels = options.maxLabels ?? 32;
  const maxValueChars = options.maxLabelValueChars ?? DEFAULT_MAX_LABEL_VALUE_CHARS;
  let malformed = 0;
  let truncated = 0;
  // Most lines belong to other families: a prefix check skips them before any slice is made.
  const prefixes = [...new Set([...options.names].map((n) => n.slice(0, 8)))];
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const lineStart = pos;
    pos = end + 1;
    if (text.charCodeAt(lineStart) === 35 /* # */ || end === lineStart) continue;
    let candidate = false;
    for (const prefix of prefixes) {
      if (text.startsWith(prefix, lineStart)) {
        candidate = true;
        break;
      }
    }
    if (!candidate) continue;
    // The name runs to '{' or ' ': compare it before parsing anything else.
    let nameEnd = lineStart;
    while (nameEnd < end) {
      const c = text.charCodeAt(nameEnd);
      if (c === 123 /* { */ || c === 32 /* space */) break;
      nameEnd++;
    }
    const name = text.slice(lineStart, nameEnd);
    if (!options.names.has(name)) continue;
    if (samples.length >= options.maxSeries) {
      truncated++;
      continue;
    }
    const line = text.slice(lineStart, end);
    let rest = nameEnd - lineStart;
    let labels: Record<string, string> = {};
    if (line[rest] === '{') {
      const read = readLabels(line, rest, maxLabels, maxValueChars);
      if (read === undefined) {
        malformed++;
        continue;
      }
      labels = read.labels;
      rest = read.end;
    }
    // `value [timestamp]`
    const id = line.slice(0, rest);
    const fields = line.slice(rest).trim().split(/\s+/);
    const value = numberOf(fields[0] ?? '');
    if (value === undefined || fields.length > 2) {
      malformed++;
      continue;
    }
    samples.push({ id, name, labels, value });
  }
  return { samples, malformed, truncated };
}
