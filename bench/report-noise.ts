// The report scenario's verdict on "Report never adds latency": per
// interleaved round, each row's p99 at the fixed rate divided by the
// Report-off row's p99 of the same round, beside the A/A control's (a second
// Report-off proxy: the ratio two identical proxies show on this machine).
// Report on is "within noise" when its median ratio lies inside the range of
// the A/A ratios. The proxy's CPU per request is shown beside it (fixed rate
// and saturation): the cost Report does add, whatever the latency says.
import type { RunSample } from './result-row.js';

const OFF = 'isthmus 1w, cache hit, Report off';
const AA = `${OFF}, A/A control`;

export interface NoiseRow {
  readonly label: string;
  readonly rounds: number;
  /** Median p99 at the fixed rate, ms. */
  readonly p99_ms: number;
  /** p99 / the Report-off row's p99 (its build's), per round: median, min, max (null for a Report-off row itself). */
  readonly p99_vs_off: { readonly median: number; readonly min: number; readonly max: number } | null;
  /** Median proxy CPU per request, µs: at the fixed rate, and at saturation. */
  readonly cpu_us_fixed: number | null;
  readonly cpu_us_max: number | null;
  readonly max_rps: number | null;
  /** Median control plane CPU per request, µs (its telemetry rules for each Report entry), at saturation; null when not counted. */
  readonly control_us_max: number | null;
}

export interface ReportNoise {
  readonly rate: number;
  readonly rows: readonly NoiseRow[];
  /** null without the A/A row or the Report-on row. */
  readonly within_noise: boolean | null;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The control plane's CPU per request the proxy served (check cache hits + misses: every request), µs, median over runs. */
function controlUs(samples: readonly RunSample[]): number | null {
  const per = samples.flatMap((s) => {
    const c = s.counts ?? {};
    const requests = (c.check_cache_hits ?? 0) + (c.check_cache_misses ?? 0);
    return c.control_cpu_ms === undefined || requests === 0 ? [] : [(c.control_cpu_ms * 1000) / requests];
  });
  return per.length === 0 ? null : median(per);
}

/** takes every load sample of the run; returns the report scenario's verdict, or undefined when it did not run. */
export function reportNoise(samples: readonly RunSample[]): ReportNoise | undefined {
  const of = (label: string, mode: 'max' | 'fixed'): RunSample[] => samples.filter((s) => s.scenario === 'report' && s.label === label && s.mode === mode && s.rps > 0);
  const off = of(OFF, 'fixed');
  if (off.length === 0) return undefined;
  const labels = [...new Set(samples.filter((s) => s.scenario === 'report').map((s) => s.label))];
  const rows: NoiseRow[] = labels.map((label) => {
    const fixed = of(label, 'fixed');
    const max = of(label, 'max');
    // The k-th sample of each row is round k (every row is measured once per round, in alternating order).
    // A --baseline build's rows are compared with that build's Report-off row.
    const baseLabel = label.startsWith('baseline ') ? OFF.replace(/^isthmus /, 'baseline ') : OFF;
    const base = of(baseLabel, 'fixed');
    const ratios = label === baseLabel ? [] : fixed.slice(0, base.length).map((s, k) => s.p99_ms / base[k]!.p99_ms);
    const cpu = (xs: RunSample[]): number | null => (xs.length === 0 || xs.some((s) => s.cpu_s_per_1k === null) ? null : median(xs.map((s) => s.cpu_s_per_1k! * 1000)));
    return {
      label,
      rounds: fixed.length,
      p99_ms: median(fixed.map((s) => s.p99_ms)),
      p99_vs_off: ratios.length === 0 ? null : { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) },
      cpu_us_fixed: cpu(fixed),
      cpu_us_max: cpu(max),
      max_rps: max.length === 0 ? null : median(max.map((s) => s.rps)),
      control_us_max: controlUs(max),
    };
  });
  const on = rows.find((r) => r.label === 'isthmus 1w, cache hit, Report on')?.p99_vs_off;
  const aa = rows.find((r) => r.label === AA)?.p99_vs_off;
  return {
    rate: off[0]!.rate ?? 0,
    rows,
    within_noise: on == null || aa == null ? null : on.median >= aa.min && on.median <= aa.max,
  };
}

/** takes the verdict; returns its text block. */
export function formatReportNoise(n: ReportNoise): string {
  const f = (x: number | null, d = 2): string => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(d));
  const lines = [`report: p99 at ${n.rate}/s vs Report off, per interleaved round (median [min-max]); proxy CPU per request`];
  for (const r of n.rows) {
    const vs = r.p99_vs_off === null ? 'base' : `${f(r.p99_vs_off.median)}x [${f(r.p99_vs_off.min)}-${f(r.p99_vs_off.max)}]`;
    lines.push(`  ${r.label.padEnd(62)} p99 ${f(r.p99_ms, 3).padStart(8)} ms  ${vs.padEnd(20)} cpu ${f(r.cpu_us_fixed, 1).padStart(6)} µs/req at ${n.rate}/s, ${f(r.cpu_us_max, 1).padStart(6)} µs/req at ${f(r.max_rps, 0)} req/s; control plane ${f(r.control_us_max, 1)} µs/req there (${r.rounds} rounds)`);
  }
  lines.push(`  Report on within noise (its median ratio inside the A/A control's range): ${n.within_noise === null ? 'not known (a row is missing)' : n.within_noise ? 'yes' : 'no'}`);
  return `${lines.join('\n')}\n`;
}
