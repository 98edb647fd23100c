// Joining the Prometheus text of several handlers into one /metrics body. The
// text format wants each metric family once: one # HELP, one # TYPE, and its
// samples together. Two prometheus handlers may both define
// istio_requests_total, and every built-in handler adds its own counters
// (isthmus_mixer_*_total{handler="..."}), so plain concatenation would repeat
// families, which Prometheus refuses.

interface Family {
  help: string | null;
  type: string | null;
  readonly samples: string[];
}

const SUFFIXES = ['_bucket', '_sum', '_count'];

/** Takes a sample's metric name and the families seen; returns the family it belongs to (histogram parts to their base). */
function familyOf(name: string, families: Map<string, Family>): string {
  for (const suffix of SUFFIXES) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.get(base)?.type === 'histogram') return base;
    }
  }
  return name;
}

/** Takes the metricsText() of several handlers; returns one text with each family's HELP, TYPE and samples together. */
export function mergeMetricsTexts(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { help: null, type: null, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const comment = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (comment !== null) {
        const f = family(comment[2]);
        if (comment[1] === 'HELP') f.help ??= line;
        else f.type ??= comment[3] ?? 'untyped';
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (name !== undefined) family(familyOf(name, families)).samples.push(line);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    if (f.help !== null) out.push(f.help);
    if (f.type !== null) out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.samples);
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}
