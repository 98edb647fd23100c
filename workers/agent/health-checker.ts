// Active HTTP health checks, once per proxy in the agent (not per worker):
// every endpoint of a cluster with `health_checks` gets a GET of the path at
// `interval` (+ jitter), failing on a timeout, a connection error or a
// status outside expected_statuses. Results go to the endpoint's flag word
// in the shared state and bump the cluster's health epoch, so every worker
// sees them at its next pick. As in Envoy, a new endpoint starts
// /failed_active_hc/pending_active_hc and gets traffic once its first check
// passes (one success suffices then; later, healthy_threshold in a row);
// unhealthy_threshold failures in a row take a healthy one out. The agent
// awaits the first check of new endpoints before it writes the config that
// names them (Envoy's cluster warming): check first, then route.
import type * as http from 'node:http';
import { createRequire } from 'node:module';
import type { Bootstrap, Cluster, HealthCheck } from '../../src/config/bootstrap-types.js';
import type { Logger } from '../../src/log.js';
import { CLUSTER, ENDPOINT, HEALTH, signalHealthChange, type SharedState } from '../shared-state/state-layout.js';
import { timerDelay } from '../../src/timer-delay.js';

let httpModule: typeof http | undefined;
/** Takes nothing; returns node:http, loaded on the first HTTP health check (a proxy without them never pays its ~1 MB). */
function nodeHttp(): typeof http {
  return (httpModule ??= createRequire(import.meta.url)('node:http') as typeof http);
}

/** Envoy's cluster.<name>.health_check.* counters. */
export interface HealthCheckStats {
  attempt: number;
  success: number;
  failure: number;
  /** Failures that were connection errors or timeouts (also counted in failure). */
  networkFailure: number;
}

class EndpointCheck {
  /** Successes / failures in a row. */
  healthyRun = 0;
  unhealthyRun = 0;
  firstDone = false;
  timer: NodeJS.Timeout | null = null;
  request: http.ClientRequest | null = null;
  stopped = false;
  private firstWaiters: (() => void)[] = [];

  constructor(
    readonly checks: ClusterChecks,
    readonly address: string,
    readonly port: number,
    readonly slot: number,
  ) {}

  /** Resolves after the first check's outcome. */
  first(): Promise<void> {
    if (this.firstDone || this.stopped) return Promise.resolve();
    return new Promise((resolve) => this.firstWaiters.push(resolve));
  }

  settleFirst(): void {
    this.firstDone = true;
    for (const resolve of this.firstWaiters.splice(0)) resolve();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.request?.destroy();
    this.request = null;
    this.settleFirst();
  }
}

class ClusterChecks {
  readonly endpoints = new Map<number, EndpointCheck>();

  constructor(
    public config: Cluster,
    readonly hc: HealthCheck,
    readonly stats: HealthCheckStats,
  ) {}
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

export class HealthChecker {
  private clusters = new Map<string, ClusterChecks>();
  private stopped = false;

  constructor(
    private readonly state: SharedState,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {}

  /**
   * A config version about to be written (with slots): starts checks of new endpoints and of clusters whose
   * health_checks changed, stops the rest, and resolves once every endpoint new to a check has had its first
   * outcome (each check is bounded by its timeout). `fresh`: endpoint slots given out for the first time.
   */
  async update(bootstrap: Bootstrap, fresh: ReadonlySet<number>): Promise<void> {
    if (this.stopped) return;
    const next = new Map<string, ClusterChecks>();
    const firsts: Promise<void>[] = [];
    for (const c of bootstrap.clusters) {
      if (c.stateSlot === undefined) continue;
      const old = this.clusters.get(c.name);
      if (c.healthCheck === null) {
        // No check (any more): nothing may stay failed by one.
        for (const e of c.endpoints) if (e.stateSlot !== undefined && (old !== undefined || fresh.has(e.stateSlot))) this.clearFlags(c, e.stateSlot);
        continue;
      }
      const sameCheck = old !== undefined && JSON.stringify(old.hc) === JSON.stringify(c.healthCheck);
      const checks = sameCheck ? old : new ClusterChecks(c, c.healthCheck, old?.stats ?? { attempt: 0, success: 0, failure: 0, networkFailure: 0 });
      checks.config = c;
      for (const e of c.endpoints) {
        const slot = e.stateSlot;
        if (slot === undefined || checks.endpoints.has(slot)) continue;
        // Checked before (same slot, an earlier check config): it keeps its state; else it waits for its first check.
        const known = old?.endpoints.has(slot) === true && !fresh.has(slot);
        if (!known) this.setFlags(c, slot, HEALTH.FAILED_ACTIVE_HC | HEALTH.PENDING_ACTIVE_HC);
        const check = new EndpointCheck(checks, e.address, e.port, slot);
        check.firstDone = known;
        checks.endpoints.set(slot, check);
        if (!known) firsts.push(check.first());
        this.run(check);
      }
      // Endpoints gone from the cluster, or checked under the old config.
      const live = new Set(c.endpoints.map((e) => e.stateSlot));
      for (const [slot, check] of checks.endpoints) if (!live.has(slot)) (check.stop(), checks.endpoints.delete(slot));
      if (old !== undefined && old !== checks) for (const check of old.endpoints.values()) check.stop();
      next.set(c.name, checks);
    }
    for (const [name, old] of this.clusters) if (!next.has(name)) for (const check of old.endpoints.values()) check.stop();
    this.clusters = next;
    await Promise.all(firsts);
  }

  /** Shutdown: every timer and in-flight check stops. */
  stop(): void {
    this.stopped = true;
    for (const c of this.clusters.values()) for (const check of c.endpoints.values()) check.stop();
    this.clusters = new Map();
  }

  /** Counters per cluster name (clusters with a health check). */
  stats(): Map<string, HealthCheckStats> {
    const out = new Map<string, HealthCheckStats>();
    for (const [name, c] of this.clusters) out.set(name, { ...c.stats });
    return out;
  }

  private run(check: EndpointCheck): void {
    if (check.stopped) return;
    const { hc, stats } = check.checks;
    stats.attempt++;
    let settled = false;
    const done = (ok: boolean, network: boolean): void => {
      if (settled) return;
      settled = true;
      check.request = null;
      this.outcome(check, ok, network);
      if (check.stopped) return;
      const delay = hc.intervalMs + (hc.intervalJitterMs > 0 ? this.random() * hc.intervalJitterMs : 0);
      check.timer = setTimeout(() => {
        check.timer = null;
        this.run(check);
      }, timerDelay(delay));
      check.timer.unref();
    };
    const req = nodeHttp().request({
      host: check.address,
      port: check.port,
      path: hc.http.path,
      method: 'GET',
      agent: false,
      headers: { host: hc.http.host ?? check.checks.config.name, 'user-agent': 'Envoy/HC', connection: 'close' },
      timeout: hc.timeoutMs,
    });
    check.request = req;
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      done(hc.http.expectedStatuses.some(([from, to]) => status >= from && status < to), false);
    });
    req.on('timeout', () => {
      req.destroy();
      done(false, true);
    });
    req.on('error', () => done(false, true));
    req.end();
  }

  private outcome(check: EndpointCheck, ok: boolean, network: boolean): void {
    if (check.stopped) return;
    const { config, hc, stats } = check.checks;
    const flags = this.flags(check.slot);
    const first = !check.firstDone;
    if (ok) {
      stats.success++;
      check.unhealthyRun = 0;
      check.healthyRun++;
      if ((flags & HEALTH.FAILED_ACTIVE_HC) !== 0 && (first || check.healthyRun >= hc.healthyThreshold)) {
        this.clearFlags(config, check.slot);
        this.log.info({ cluster: config.name, endpoint: hostPort(check.address, check.port) }, 'health check: endpoint healthy');
      } else if (first) {
        this.clearFlags(config, check.slot);
      }
    } else {
      stats.failure++;
      if (network) stats.networkFailure++;
      check.healthyRun = 0;
      check.unhealthyRun++;
      if ((flags & HEALTH.FAILED_ACTIVE_HC) === 0 && check.unhealthyRun >= hc.unhealthyThreshold) {
        this.setFlags(config, check.slot, HEALTH.FAILED_ACTIVE_HC);
        this.log.warn({ cluster: config.name, endpoint: hostPort(check.address, check.port) }, 'health check: endpoint unhealthy');
      } else if (first) {
        this.clearPending(config, check.slot);
        this.log.warn({ cluster: config.name, endpoint: hostPort(check.address, check.port) }, 'health check: endpoint failed its first check');
      }
    }
    if (first) check.settleFirst();
  }

  private flags(slot: number): number {
    return Atomics.load(this.state.ints, this.state.endpointBase(slot) + ENDPOINT.FLAGS);
  }

  private setFlags(config: Cluster, slot: number, bits: number): void {
    const before = Atomics.or(this.state.ints, this.state.endpointBase(slot) + ENDPOINT.FLAGS, bits);
    if ((before | bits) !== before) this.bumpEpoch(config);
  }

  /** Passed: neither failed nor pending any more. */
  private clearFlags(config: Cluster, slot: number): void {
    this.andFlags(config, slot, ~(HEALTH.FAILED_ACTIVE_HC | HEALTH.PENDING_ACTIVE_HC));
  }

  private clearPending(config: Cluster, slot: number): void {
    this.andFlags(config, slot, ~HEALTH.PENDING_ACTIVE_HC);
  }

  private andFlags(config: Cluster, slot: number, mask: number): void {
    const before = Atomics.and(this.state.ints, this.state.endpointBase(slot) + ENDPOINT.FLAGS, mask);
    if ((before & mask) !== before) this.bumpEpoch(config);
  }

  private bumpEpoch(config: Cluster): void {
    if (config.stateSlot === undefined) return;
    Atomics.add(this.state.ints, this.state.clusterBase(config.stateSlot) + CLUSTER.HEALTH_EPOCH, 1);
    signalHealthChange(this.state.ints);
  }
}
