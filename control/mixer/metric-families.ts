// Several handlers' Prometheus text joined into one valid exposition: two
// prometheus (or statsd, fluentd) handlers each write `# HELP` / `# TYPE` for
// families they share (isthmus_mixer_prometheus_dropped_series_total{handler}),
// and the text format allows one HELP/TYPE per family with all its samples in
// one group. Families keep the order they first appear in.

interface Family {
  help: string | null;
  type: string | null;
  readonly samples: string[];
}

/** The family a sample line belongs to: its metric name, without a histogram/summary suffix when that family was declared. */
function familyOf(line: string, families: ReadonlyMap<string, Family>): string {
  const end = line.search(/[{\s]/);
  const name = end < 0 ? line : line.slice(0, end);
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.has(base)) return base;
    }
  }
  return name;
}

/** takes Prometheus texts; returns one text with each family's HELP, TYPE and samples together once. */
export function mergeMetricFamilies(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) families.set(name, (f = { help: null, type: null, samples: [] }));
    return f;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta !== null) {
        const f = family(meta[2]!);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      family(familyOf(line, families)).samples.push(line);
    }
  }
  let out = '';
  for (const f of families.values()) {
    if (f.help !== null) out += `${f.help}\n`;
    if (f.type !== null) out += `${f.type}\n`;
    for (const s of f.samples) out += `${s}\n`;
  }
  return out;
}
