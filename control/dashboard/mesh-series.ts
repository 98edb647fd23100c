// The bounded history the dashboard draws: per service and per edge, the
// last N pull rounds' figures. Keys are capped; a key idle for a whole window
// is forgotten, so a mesh whose services come and go does not grow it.
import type { EdgeFigures, Figures, PullRound, ServiceFigures } from './mesh-figures.js';

export interface Point {
  /** Epoch ms. */
  readonly t: number;
  readonly rps: number;
  readonly errorPct: number;
  readonly p50: number | null;
  readonly p99: number | null;
}

export interface SeriesLimits {
  /** Points kept per key (60 at 5 s: five minutes). */
  readonly points: number;
  readonly maxKeys: number;
}

export const DEFAULT_SERIES_LIMITS: SeriesLimits = Object.freeze({ points: 60, maxKeys: 400 });

export interface EdgeEntry {
  readonly latest: EdgeFigures;
  readonly points: Point[];
  lastActiveRound: number;
}

export interface ServiceEntry {
  readonly service: string;
  readonly points: Point[];
  /** The latest round's inbound figures per version ('' when the source has no versions). */
  latest: ServiceFigures[];
  lastActiveRound: number;
}

function point(t: number, f: Figures): Point {
  return { t, rps: f.rps, errorPct: f.rps > 0 ? (100 * f.errorRps) / f.rps : 0, p50: f.p50, p99: f.p99 };
}

/** Sums figures (percentiles: the highest p99, the rate-weighted p50: an approximation across versions). */
export function sumFigures(list: readonly Figures[]): Figures {
  let rps = 0;
  let errorRps = 0;
  let mtlsRps = 0;
  let p50w = 0;
  let p50n = 0;
  let p99: number | null = null;
  for (const f of list) {
    rps += f.rps;
    errorRps += f.errorRps;
    mtlsRps += f.mtlsRps;
    if (f.p50 !== null && f.rps > 0) {
      p50w += f.p50 * f.rps;
      p50n += f.rps;
    }
    if (f.p99 !== null) p99 = p99 === null ? f.p99 : Math.max(p99, f.p99);
  }
  return { rps, errorRps, mtlsRps, p50: p50n > 0 ? p50w / p50n : null, p99 };
}

export function edgeKey(e: EdgeFigures): string {
  return `${e.source}\n${e.sourceVersion}\n${e.target}\n${e.targetVersion}`;
}

export class MeshSeries {
  readonly edges = new Map<string, EdgeEntry>();
  readonly services = new Map<string, ServiceEntry>();
  rounds = 0;
  lastRound: PullRound | null = null;

  constructor(readonly limits: SeriesLimits = DEFAULT_SERIES_LIMITS) {}

  add(round: PullRound): void {
    this.rounds++;
    this.lastRound = round;
    const seenEdges = new Set<string>();
    for (const e of round.edges) {
      const key = edgeKey(e);
      seenEdges.add(key);
      let entry = this.edges.get(key);
      if (entry === undefined) {
        if (this.edges.size >= this.limits.maxKeys) continue;
        entry = { latest: e, points: [], lastActiveRound: this.rounds };
        this.edges.set(key, entry);
      }
      (entry as { latest: EdgeFigures }).latest = e;
      if (e.rps > 0) entry.lastActiveRound = this.rounds;
      this.push(entry.points, point(round.at, e));
    }
    const byService = new Map<string, ServiceFigures[]>();
    for (const s of round.services) byService.set(s.service, [...(byService.get(s.service) ?? []), s]);
    for (const [service, list] of byService) {
      let entry = this.services.get(service);
      if (entry === undefined) {
        if (this.services.size >= this.limits.maxKeys) continue;
        entry = { service, points: [], latest: list, lastActiveRound: this.rounds };
        this.services.set(service, entry);
      }
      entry.latest = list;
      const total = sumFigures(list);
      if (total.rps > 0) entry.lastActiveRound = this.rounds;
      this.push(entry.points, point(round.at, total));
    }
    // Keys not reported this round get a zero point; a key idle for the whole window is dropped.
    for (const [key, entry] of this.edges) {
      if (!seenEdges.has(key)) {
        (entry as { latest: EdgeFigures }).latest = { ...entry.latest, rps: 0, errorRps: 0, mtlsRps: 0, p50: null, p99: null };
        this.push(entry.points, point(round.at, entry.latest));
      }
      if (this.rounds - entry.lastActiveRound >= this.limits.points) this.edges.delete(key);
    }
    for (const [service, entry] of this.services) {
      if (!byService.has(service)) {
        entry.latest = [];
        this.push(entry.points, { t: round.at, rps: 0, errorPct: 0, p50: null, p99: null });
      }
      if (this.rounds - entry.lastActiveRound >= this.limits.points) this.services.delete(service);
    }
  }

  private push(points: Point[], p: Point): void {
    points.push(p);
    if (points.length > this.limits.points) points.splice(0, points.length - this.limits.points);
  }
}
