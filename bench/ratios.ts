// The comparisons the bench exists for, computed from the median rows, each
// with the goal issue 2 sets where it sets one: throughput against haproxy,
// added p99 against direct at a fixed rate, CPU per 1000 requests, memory.
import type { ResultRow } from './result-row.js';

export interface Ratio {
  /** What is compared, e.g. 'isthmus / haproxy throughput (max)'. */
  readonly name: string;
  readonly value: number;
  readonly unit: 'x' | 'ms' | 'cpu-s/1k' | 'MB';
  /** The goal in words ('>= 0.6'), when there is one. */
  readonly goal: string | null;
  readonly met: boolean | null;
  /** Set when the two sides were not measured the same number of times (a target failed in some runs). */
  readonly note: string | null;
}

type Find = (scenario: string, target: string, mode: 'max' | 'fixed', client?: string) => ResultRow | undefined;

function finder(rows: readonly ResultRow[]): Find {
  return (scenario, target, mode, client = 'isthmus-bench') =>
    rows.find((r) => r.scenario === scenario && r.target === target && r.mode === mode && r.client === client);
}

const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** Throughput of a over b (x); null when either is missing or b is zero. */
export function throughputRatio(a: ResultRow | undefined, b: ResultRow | undefined): number | null {
  if (a === undefined || b === undefined || b.rps <= 0) return null;
  return round(a.rps / b.rps);
}

/** p99 of a minus p99 of b (ms); null when either is missing. */
export function addedP99Ms(a: ResultRow | undefined, b: ResultRow | undefined): number | null {
  if (a === undefined || b === undefined) return null;
  return round(a.p99_ms - b.p99_ms);
}

export function computeRatios(rows: readonly ResultRow[]): Ratio[] {
  const find = finder(rows);
  const out: Ratio[] = [];
  const push = (
    name: string,
    value: number | null,
    unit: Ratio['unit'],
    goal: string | null,
    test?: (v: number) => boolean,
    sides: readonly (ResultRow | undefined)[] = [],
  ): void => {
    if (value === null) return;
    const runs = sides.map((row) => row?.runs ?? 0);
    const note = runs.length === 2 && runs[0] !== runs[1] ? `runs differ: ${runs[0]} vs ${runs[1]}` : null;
    out.push({ name, value, unit, goal, met: test === undefined ? null : test(value), note });
  };

  const ratio = (name: string, a: ResultRow | undefined, b: ResultRow | undefined, goal: string | null = null, test?: (v: number) => boolean): void =>
    push(name, throughputRatio(a, b), 'x', goal, test, [a, b]);
  const isthmusMax = find('proxy', 'isthmus', 'max');
  const haproxyMax = find('proxy', 'haproxy', 'max');
  const directMax = find('direct', 'direct', 'max');
  ratio('isthmus / haproxy throughput (max)', isthmusMax, haproxyMax, '>= 0.6', (v) => v >= 0.6);
  ratio('isthmus / nginx throughput (max)', isthmusMax, find('proxy', 'nginx', 'max'));
  ratio('isthmus / direct throughput (max)', isthmusMax, directMax);
  ratio('uws-front / haproxy throughput (max)', find('uws-front', 'isthmus', 'max'), haproxyMax);
  ratio('bench client / wrk -t1 throughput on direct', directMax, find('direct-wrk', 'direct', 'max', 'wrk'), '>= 1.0', (v) => v >= 1);

  const directFixed = find('direct', 'direct', 'fixed');
  for (const target of ['isthmus', 'haproxy', 'nginx']) {
    const isOurs = target === 'isthmus';
    const fixed = find('proxy', target, 'fixed');
    push(
      `${target} added p99 vs direct (fixed rate)`,
      addedP99Ms(fixed, directFixed),
      'ms',
      isOurs ? '<= 0.5' : null,
      isOurs ? (v) => v <= 0.5 : undefined,
      [fixed, directFixed],
    );
  }

  for (const target of ['isthmus', 'haproxy', 'nginx']) {
    const cpu = find('proxy', target, 'max')?.cpu_s_per_1k ?? null;
    const isOurs = target === 'isthmus';
    push(`${target} CPU-s per 1000 requests (max)`, cpu, 'cpu-s/1k', isOurs ? '<= 0.05' : null, isOurs ? (v) => v <= 0.05 : undefined);
  }
  push('isthmus peak RSS, 1 worker', find('proxy', 'isthmus', 'max')?.peak_rss_mb ?? null, 'MB', null);
  const twoWorkers = find('proxy-2w', 'isthmus', 'max')?.peak_rss_mb ?? null;
  push('isthmus peak RSS, 2 workers', twoWorkers, 'MB', '<= 70', (v) => v <= 70);
  return out;
}
