// The shape of one measured figure set, as bench.json stores it, and the
// median over repeated runs (pairs were interleaved, so drift hits all alike)
// with the spread (min-max) of every figure and the latency spectrum of all
// runs' latencies together.
import { spectrumOfEncoded, type SpectrumPoint } from './latency-histogram.js';
import type { LoadMode } from './load-protocol.js';

export type Client = 'isthmus-bench' | 'wrk';

/** One load run against one target. */
export interface RunSample {
  /** 'direct', 'proxy', 'mesh', 'reload' (and 'uws-front' when named) */
  readonly scenario: string;
  /** 'direct', 'isthmus', 'nginx' or 'haproxy' */
  readonly target: string;
  /** Tells rows of one scenario and target apart: 'isthmus 1w', 'isthmus 2w', 'wrk -t1', ... */
  readonly label: string;
  readonly mode: LoadMode;
  readonly client: Client;
  readonly connections: number;
  /** Fixed mode: the offered rate (req/s); null in max mode. */
  readonly rate: number | null;
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
  readonly errors: number;
  /** CPU seconds of the proxies (or peers) per 1000 requests; null for direct. */
  readonly cpu_s_per_1k: number | null;
  /** Peak RSS of the proxy (or peer) process tree, MB, summed over the scenario's proxies; null for direct. */
  readonly peak_rss_mb: number | null;
  readonly upstream_cpu_s_per_1k: number | null;
  /** Load-generator threads (wrk: its -t). */
  readonly client_threads: number;
  /** The run's latencies (HdrHistogram, µs, compressed base64); null when the client keeps none (wrk). Not written to bench.json. */
  readonly histogram: string | null;
  /** The run's spectrum when the client reports one but no histogram (wrk). */
  readonly spectrum?: readonly SpectrumPoint[];
  /** Scenario-specific counts, e.g. { reloads: 10 }: summed over runs. */
  readonly counts?: Readonly<Record<string, number>>;
}

export const FIGURES = ['rps', 'p50_ms', 'p90_ms', 'p99_ms', 'p999_ms', 'max_ms', 'errors', 'cpu_s_per_1k', 'peak_rss_mb'] as const;
export type Figure = (typeof FIGURES)[number];

/** Medians over runs; errors are summed (one failed run must not vanish in a median), peak RSS is the
 * largest seen (VmHWM only grows); `spread` holds [min, max] over runs of every figure. */
export interface ResultRow extends Omit<RunSample, 'histogram'> {
  readonly runs: number;
  readonly rps_min: number;
  readonly rps_max: number;
  readonly spread: Readonly<Partial<Record<Figure, readonly [number, number]>>>;
  /** [percentile, ms] over every latency of every run; empty for wrk. */
  readonly spectrum: readonly SpectrumPoint[];
}

/** Median of the numbers (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const finite = (values: readonly (number | null)[]): number[] => values.filter((v): v is number => v !== null && Number.isFinite(v));

function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = finite(values);
  return present.length === 0 ? null : round(median(present), 4);
}

function maxOrNull(values: readonly (number | null)[]): number | null {
  const present = finite(values);
  return present.length === 0 ? null : Math.max(...present);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function rowKey(row: Pick<RunSample, 'scenario' | 'label' | 'mode' | 'client'>): string {
  return `${row.scenario}|${row.label}|${row.mode}|${row.client}`;
}

function spreadOf(group: readonly RunSample[]): Partial<Record<Figure, readonly [number, number]>> {
  const spread: Partial<Record<Figure, readonly [number, number]>> = {};
  for (const figure of FIGURES) {
    const values = finite(group.map((s) => s[figure]));
    if (values.length > 0) spread[figure] = [Math.min(...values), Math.max(...values)];
  }
  return spread;
}

function sumCounts(group: readonly RunSample[]): Record<string, number> | undefined {
  const counts: Record<string, number> = {};
  for (const s of group) for (const [name, n] of Object.entries(s.counts ?? {})) counts[name] = (counts[name] ?? 0) + n;
  return Object.keys(counts).length === 0 ? undefined : counts;
}

/** Without histograms to merge: the spectrum of the run whose req/s is the median (or nearest to it). */
function medianRunSpectrum(group: readonly RunSample[]): readonly SpectrumPoint[] {
  const withSpectrum = group.filter((s) => s.spectrum !== undefined && s.spectrum.length > 0);
  if (withSpectrum.length === 0) return [];
  const mid = median(withSpectrum.map((s) => s.rps));
  const nearest = withSpectrum.reduce((best, s) => (Math.abs(s.rps - mid) < Math.abs(best.rps - mid) ? s : best));
  return nearest.spectrum!;
}

/** Groups samples of the same scenario/label/mode/client and takes medians; keeps first-seen order. */
export function aggregateRuns(samples: readonly RunSample[]): ResultRow[] {
  const groups = new Map<string, RunSample[]>();
  for (const sample of samples) {
    const key = rowKey(sample);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [sample]);
    else group.push(sample);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const pick = (field: 'p50_ms' | 'p90_ms' | 'p99_ms' | 'p999_ms' | 'max_ms'): number => round(median(group.map((s) => s[field])), 3);
    const rpsValues = group.map((s) => s.rps);
    const histograms = group.map((s) => s.histogram).filter((h): h is string => h !== null);
    const counts = sumCounts(group);
    return {
      scenario: first.scenario,
      target: first.target,
      label: first.label,
      mode: first.mode,
      client: first.client,
      connections: first.connections,
      rate: first.rate,
      rps: Math.round(median(rpsValues)),
      p50_ms: pick('p50_ms'),
      p90_ms: pick('p90_ms'),
      p99_ms: pick('p99_ms'),
      p999_ms: pick('p999_ms'),
      max_ms: pick('max_ms'),
      errors: group.reduce((n, s) => n + s.errors, 0),
      cpu_s_per_1k: medianOrNull(group.map((s) => s.cpu_s_per_1k)),
      peak_rss_mb: maxOrNull(group.map((s) => s.peak_rss_mb)),
      upstream_cpu_s_per_1k: medianOrNull(group.map((s) => s.upstream_cpu_s_per_1k)),
      client_threads: first.client_threads,
      ...(counts === undefined ? {} : { counts }),
      runs: group.length,
      rps_min: Math.min(...rpsValues),
      rps_max: Math.max(...rpsValues),
      spread: spreadOf(group),
      spectrum: histograms.length > 0 ? spectrumOfEncoded(histograms) : medianRunSpectrum(group),
    };
  });
}
