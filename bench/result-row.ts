// The shape of one measured figure set, as bench.json stores it, and the
// median over repeated runs (pairs were interleaved, so drift hits all alike).
import type { LoadMode } from './load-protocol.js';

export type Client = 'isthmus-bench' | 'wrk';

/** One load run against one target. */
export interface RunSample {
  /** 'direct', 'proxy' (1 worker), 'proxy-2w', 'uws-front', 'direct-wrk' */
  readonly scenario: string;
  /** 'direct', 'isthmus', 'nginx' or 'haproxy' */
  readonly target: string;
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
  /** CPU seconds of the proxy (or peer) per 1000 requests; null for direct. */
  readonly cpu_s_per_1k: number | null;
  /** Peak RSS of the proxy (or peer) process tree, MB; null for direct. */
  readonly peak_rss_mb: number | null;
  readonly upstream_cpu_s_per_1k: number | null;
}

/** Medians over runs; errors are summed (one failed run must not vanish in a median), peak RSS is the
 * largest seen (VmHWM only grows), and the rps spread is kept. */
export interface ResultRow extends RunSample {
  readonly runs: number;
  readonly rps_min: number;
  readonly rps_max: number;
}

/** Median of the numbers (mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length === 0 ? null : round(median(present), 4);
}

function maxOrNull(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length === 0 ? null : Math.max(...present);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function rowKey(row: Pick<RunSample, 'scenario' | 'target' | 'mode' | 'client'>): string {
  return `${row.scenario}|${row.target}|${row.mode}|${row.client}`;
}

/** Groups samples of the same scenario/target/mode/client and takes medians; keeps first-seen order. */
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
    const pick = (field: 'rps' | 'p50_ms' | 'p90_ms' | 'p99_ms' | 'p999_ms' | 'max_ms'): number =>
      round(median(group.map((s) => s[field])), 3);
    const rpsValues = group.map((s) => s.rps);
    return {
      scenario: first.scenario,
      target: first.target,
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
      runs: group.length,
      rps_min: Math.min(...rpsValues),
      rps_max: Math.max(...rpsValues),
    };
  });
}
