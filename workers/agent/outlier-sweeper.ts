// Outlier detection's side in the agent, once per proxy: for every cluster
// with outlier_detection, a timer at `interval` that (as Envoy's detector
// does) returns ejected endpoints whose time is up (base_ejection_time x the
// endpoint's ejection multiplier, capped by max(base, max_ejection_time)),
// lets the multiplier decay while an endpoint stays healthy, and runs
// success-rate detection over the interval's outcomes. Workers eject on
// consecutive failures themselves and report it here; the agent logs every
// ejection and return. Counters live in the shared state (outlier-ejection.ts).
import type { Bootstrap, Cluster, OutlierDetection } from '../../src/config/bootstrap-types.js';
import type { Logger } from '../../src/log.js';
import { EjectionResult, tryEject, uneject } from '../shared-state/outlier-ejection.js';
import { EJECTION_KIND, EJECTION_KIND_NAMES, ENDPOINT, HEALTH, type SharedState } from '../shared-state/state-layout.js';
import { timerDelay } from '../../src/timer-delay.js';

interface EjectionMemory {
  /** When the current ejection began (agent clock); null when not ejected. */
  ejectedAt: number | null;
  /** Envoy's eject-time backoff: the current ejection lasts base_ejection_time x this. */
  multiplier: number;
  /** When it was last brought back; null before. */
  returnedAt: number | null;
}

interface WatchedCluster {
  readonly config: Cluster;
  readonly od: OutlierDetection;
  readonly timer: NodeJS.Timeout | null;
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface OutlierSweeperOptions {
  readonly now?: () => number;
  readonly random?: () => number;
  /** false (tests): no timers; call sweep() by hand. */
  readonly timers?: boolean;
}

export class OutlierSweeper {
  private clusters = new Map<string, WatchedCluster>();
  /** By endpoint slot. */
  private readonly memory = new Map<number, EjectionMemory>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timers: boolean;

  constructor(
    private readonly state: SharedState,
    private readonly log: Logger,
    options: OutlierSweeperOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? true;
  }

  /** A new config version (with slots): watch the clusters with outlier_detection; endpoints of clusters without it are returned. */
  update(bootstrap: Bootstrap): void {
    const next = new Map<string, WatchedCluster>();
    const liveSlots = new Set<number>();
    for (const c of bootstrap.clusters) {
      if (c.stateSlot === undefined) continue;
      for (const e of c.endpoints) if (e.stateSlot !== undefined) liveSlots.add(e.stateSlot);
      const old = this.clusters.get(c.name);
      if (c.outlierDetection === null) {
        // Detection turned off: nothing may stay ejected by it.
        for (const e of c.endpoints) if (e.stateSlot !== undefined) this.returnEndpoint(c, e.stateSlot, e.address, e.port, 'outlier detection removed');
        continue;
      }
      const same = old !== undefined && JSON.stringify(old.config) === JSON.stringify(c);
      if (same) {
        next.set(c.name, old);
        continue;
      }
      const timer = this.timers ? setInterval(onSweep, timerDelay(c.outlierDetection.intervalMs), this, c.name) : null;
      timer?.unref();
      next.set(c.name, { config: c, od: c.outlierDetection, timer });
    }
    for (const [name, old] of this.clusters) if (next.get(name) !== old && old.timer !== null) clearInterval(old.timer);
    for (const slot of this.memory.keys()) if (!liveSlots.has(slot)) this.memory.delete(slot);
    this.clusters = next;
  }

  /** A worker ejected an endpoint: remember when, grow its multiplier, log it. */
  onWorkerEjection(cluster: string, address: string, port: number, kind: number): void {
    const watched = this.clusters.get(cluster);
    const e = watched?.config.endpoints.find((x) => x.address === address && x.port === port);
    if (watched === undefined || e?.stateSlot === undefined) return; // a config that is gone already
    this.ejected(watched, e.stateSlot, address, port, kind);
  }

  private ejected(watched: WatchedCluster, slot: number, address: string, port: number, kind: number): void {
    const od = watched.od;
    const m = this.memoryOf(slot);
    if (m.ejectedAt !== null) return;
    m.ejectedAt = this.now();
    const cap = Math.max(od.baseEjectionTimeMs, od.maxEjectionTimeMs);
    if (od.baseEjectionTimeMs * m.multiplier < cap) m.multiplier++;
    this.log.warn(
      {
        cluster: watched.config.name,
        endpoint: hostPort(address, port),
        type: EJECTION_KIND_NAMES[kind] ?? 'unknown',
        ejectionMs: Math.min(od.baseEjectionTimeMs * m.multiplier, cap),
      },
      'outlier detection: endpoint ejected',
    );
  }

  private memoryOf(slot: number): EjectionMemory {
    let m = this.memory.get(slot);
    if (m === undefined) this.memory.set(slot, (m = { ejectedAt: null, multiplier: 0, returnedAt: null }));
    return m;
  }

  /** One interval of cluster `name`: returns, multiplier decay, success rate. */
  sweep(name: string): void {
    const watched = this.clusters.get(name);
    if (watched === undefined || watched.config.stateSlot === undefined) return;
    const { config, od } = watched;
    const ints = this.state.ints;
    const now = this.now();
    const cap = Math.max(od.baseEjectionTimeMs, od.maxEjectionTimeMs);
    for (const e of config.endpoints) {
      const slot = e.stateSlot!;
      const flags = Atomics.load(ints, this.state.endpointBase(slot) + ENDPOINT.FLAGS);
      const m = this.memoryOf(slot);
      if ((flags & HEALTH.FAILED_OUTLIER_CHECK) === 0) {
        // Healthy for a whole base ejection time since its return: the next ejection is shorter again.
        if (m.multiplier > 0 && m.returnedAt !== null && now - m.returnedAt >= od.baseEjectionTimeMs) m.multiplier--;
        continue;
      }
      if (m.ejectedAt === null) {
        // Ejected by a worker whose report did not arrive (it exited): count its time from now.
        this.ejected(watched, slot, e.address, e.port, EJECTION_KIND.CONSECUTIVE_5XX);
        continue;
      }
      if (now - m.ejectedAt >= Math.min(od.baseEjectionTimeMs * m.multiplier, cap)) {
        this.returnEndpoint(config, slot, e.address, e.port, 'ejection time elapsed');
      }
    }
    if (od.enforcingSuccessRate > 0) this.successRate(watched);
  }

  private returnEndpoint(config: Cluster, slot: number, address: string, port: number, reason: string): void {
    if (!uneject(this.state.ints, this.state.clusterBase(config.stateSlot!), this.state.endpointBase(slot))) return;
    const m = this.memoryOf(slot);
    m.ejectedAt = null;
    m.returnedAt = this.now();
    this.log.info({ cluster: config.name, endpoint: hostPort(address, port), reason }, 'outlier detection: endpoint returned to service');
  }

  /**
   * Envoy's success-rate detection: among endpoints with at least
   * success_rate_request_volume outcomes this interval, if there are at least
   * success_rate_minimum_hosts of them, eject those whose success rate is
   * below mean - stdev x success_rate_stdev_factor / 1000.
   */
  private successRate(watched: WatchedCluster): void {
    const { config, od } = watched;
    const ints = this.state.ints;
    const rates: { slot: number; rate: number; address: string; port: number }[] = [];
    for (const e of config.endpoints) {
      const base = this.state.endpointBase(e.stateSlot!);
      const total = Atomics.exchange(ints, base + ENDPOINT.WINDOW_TOTAL, 0);
      const errors = Atomics.exchange(ints, base + ENDPOINT.WINDOW_ERRORS, 0);
      if (total >= od.successRateRequestVolume && total > 0) rates.push({ slot: e.stateSlot!, rate: (100 * (total - errors)) / total, address: e.address, port: e.port });
    }
    if (rates.length < od.successRateMinimumHosts || rates.length === 0) return;
    const mean = rates.reduce((s, r) => s + r.rate, 0) / rates.length;
    const variance = rates.reduce((s, r) => s + (r.rate - mean) ** 2, 0) / rates.length;
    const threshold = mean - Math.sqrt(variance) * (od.successRateStdevFactor / 1000);
    for (const r of rates) {
      if (r.rate >= threshold) continue;
      const result = tryEject(
        {
          ints,
          clusterBase: this.state.clusterBase(config.stateSlot!),
          endpointBase: this.state.endpointBase(r.slot),
          endpointCount: config.endpoints.length,
          maxEjectionPercent: od.maxEjectionPercent,
          enforcingPercent: od.enforcingSuccessRate,
          kind: EJECTION_KIND.SUCCESS_RATE,
        },
        this.random,
      );
      if (result === EjectionResult.EJECTED) this.ejected(watched, r.slot, r.address, r.port, EJECTION_KIND.SUCCESS_RATE);
    }
  }

  /** Shutdown: no more sweeps. */
  stop(): void {
    for (const c of this.clusters.values()) if (c.timer !== null) clearInterval(c.timer);
    this.clusters = new Map();
  }
}

function onSweep(sweeper: OutlierSweeper, cluster: string): void {
  sweeper.sweep(cluster);
}
