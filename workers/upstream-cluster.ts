// A cluster as one worker runs it: its endpoints (each with a pool), its
// host set by priority with a balancer per level, and counters. Built from
// config; kept across reloads while its definition is unchanged so pooled
// connections survive a route change. The host set is rebuilt when the
// cluster's health epoch moves, by the worker's HostSetRefresher (a timer),
// never inside a pick: a Maglev table takes milliseconds to build, and the
// request that happens to notice a health change must not pay for it.
import type { Cluster } from '../src/config/bootstrap-types.js';
import { engineConfig } from '../src/config/tls-context.js';
import { tlsCreateContext, type TlsContextHandle } from '../src/native.js';
import { NO_HASH } from './balancers/balancer.js';
import { fmix } from './balancers/hash32.js';
import { LatencyTable } from './balancers/latency-table.js';
import { PrioritySet } from './balancers/priority-set.js';
import { hostSetRefresher, type RefreshableHostSet } from './balancers/host-set-refresher.js';
import { usesRequestHash } from './balancers/create-balancer.js';
import { ClusterCounters } from './cluster-counters.js';
import type { ClusterHealthView } from './cluster-health-view.js';
import { bindClusterState, type ClusterBinding } from './shared-state/cluster-binding.js';
import type { SharedState } from './shared-state/state-layout.js';
import { UpstreamEndpoint } from './upstream-endpoint.js';
import { H2UpstreamPool } from './http2/h2-upstream-pool.js';
import { h2UpstreamTlsContext } from './http2/h2-upstream-tls-context.js';
import { DEFAULT_HTTP2_OPTIONS } from '../src/config/http2-options.js';
import type { ClusterStatus } from './worker-protocol.js';

export class UpstreamCluster implements RefreshableHostSet {
  readonly name: string;
  readonly endpoints: readonly UpstreamEndpoint[];
  readonly counters: ClusterCounters;
  /** The balancer uses the request's hash (RING_HASH, MAGLEV): only then is hash_policy evaluated. */
  readonly usesHash: boolean;
  /** PEAK_EWMA's latency per endpoint; null for other policies (then no attempt is timed). */
  readonly latency: LatencyTable | null;
  private hostSet: PrioritySet;
  private builtEpoch: number;
  /** Scratch marks (by endpoint index) of the hosts a retry avoids; all zero between picks. */
  private readonly avoid: Uint8Array;
  /** Endpoint health (what the host set is built from), as outlier detection and health checks write it. */
  readonly health: ClusterHealthView;
  /** TLS origination (UpstreamTlsContext), built once per cluster runtime; null = plaintext. */
  readonly tlsContext: TlsContextHandle | null;

  constructor(
    readonly config: Cluster,
    /** The config's canonical text, to tell an unchanged cluster on reload. */
    readonly fingerprint: string,
    counters?: ClusterCounters,
    /** Circuit breakers, endpoint health and outlier records (shared state, or private ones in unit tests). */
    readonly binding: ClusterBinding = bindClusterState(config, null),
  ) {
    this.name = config.name;
    // The config reader built this context once already, so it cannot fail for an accepted config.
    this.tlsContext = config.tls === null ? null : tlsCreateContext(engineConfig(config.tls, false, false));
    const h2TlsContext = config.tls === null || config.upstreamProtocol === undefined || config.upstreamProtocol === 'HTTP1' ? null : h2UpstreamTlsContext(config.tls);
    this.counters = counters ?? new ClusterCounters(config.name);
    this.health = binding.health;
    const health = this.health;
    this.endpoints = config.endpoints.map((e, i) => {
      const endpoint = new UpstreamEndpoint(e, this.counters, config.connectTimeoutMs, binding.endpoints[i]!);
      endpoint.index = i;
      if (this.tlsContext !== null) endpoint.tls = { context: this.tlsContext, sni: config.tls!.sni };
      if (h2TlsContext !== null) endpoint.h2Tls = { context: h2TlsContext, sni: config.tls!.sni };
      if (config.upstreamIdleTimeoutMs !== undefined) endpoint.idleTimeoutMs = config.upstreamIdleTimeoutMs;
      endpoint.maxRequestsPerConnection = config.maxRequestsPerConnection ?? 0;
      if (config.upstreamProtocol === 'HTTP2' || config.upstreamProtocol === 'DOWNSTREAM') {
        endpoint.h2Pool = new H2UpstreamPool(endpoint, config.upstreamHttp2 ?? DEFAULT_HTTP2_OPTIONS);
        endpoint.h2Always = config.upstreamProtocol === 'HTTP2';
      }
      return endpoint;
    });
    this.usesHash = usesRequestHash(config);
    this.latency = config.lbPolicy === 'PEAK_EWMA' ? new LatencyTable(this.endpoints.length, config.peakEwmaDecayMs) : null;
    this.avoid = new Uint8Array(this.endpoints.length);
    this.builtEpoch = health.epoch();
    this.hostSet = new PrioritySet(config, this.endpoints, health, this.latency);
    hostSetRefresher.track(this);
  }

  /** The host set picks use: the one built at the last health epoch the refresher saw. */
  get priorities(): PrioritySet {
    return this.hostSet;
  }

  /** Rebuilds the host set when the health epoch moved (the refresher's timer calls it; never a pick). */
  refreshHostSet(): boolean {
    const epoch = this.health.epoch();
    if (epoch === this.builtEpoch) return false;
    // Built first, swapped in one write: a pick never sees half a host set.
    const next = new PrioritySet(this.config, this.endpoints, this.health, this.latency);
    this.builtEpoch = epoch;
    this.hostSet = next;
    return true;
  }

  /**
   * An endpoint for the next attempt; null when no level has a usable host (503 UH).
   * `hash`: the request's hash or NO_HASH. `exclude`: the endpoint that just failed, avoided when another
   * exists (v1's rule). `tried` (retry_host_predicate previous_hosts): every endpoint tried so far, all avoided
   * when others exist; up to `maxRepicks` further picks (host_selection_retry_max_attempts), else the last pick stands.
   */
  pick(hash: number, exclude: UpstreamEndpoint | null, tried: readonly UpstreamEndpoint[] | null = null, maxRepicks = 1): UpstreamEndpoint | null {
    const hosts = this.priorities;
    if (exclude === null && tried === null) return hosts.pick(hash, null);
    const avoid = this.avoid;
    if (tried === null) {
      avoid[exclude!.index] = 1;
      const e = hosts.pick(hash, avoid);
      avoid[exclude!.index] = 0;
      return e;
    }
    for (let i = 0; i < tried.length; i++) avoid[tried[i]!.index] = 1;
    let e = hosts.pick(hash, avoid);
    // Balancers skip marked hosts within the chosen level; another level may still hold an untried one.
    // A re-pick of a hashed request mixes the attempt into its hash, so it may land in another level.
    for (let attempt = 1; e !== null && avoid[e.index] === 1 && attempt <= maxRepicks; attempt++) {
      e = hosts.pick(hash === NO_HASH ? hash : fmix(hash + Math.imul(attempt, 0x9e3779b9)), avoid);
    }
    for (let i = 0; i < tried.length; i++) avoid[tried[i]!.index] = 0;
    return e;
  }

  close(): void {
    hostSetRefresher.untrack(this);
    for (const e of this.endpoints) e.close();
  }

  status(): ClusterStatus {
    return {
      cluster: this.name,
      endpoints: this.endpoints.map((e) => ({
        address: e.address,
        port: e.port,
        weight: e.weight,
        rqActive: e.rqActive,
        rqTotal: e.rqTotal,
        rqError: e.rqError,
        cxActive: e.cxActive,
      })),
    };
  }
}

/**
 * Builds the clusters of a new config, reusing the previous runtime of every cluster whose definition did not
 * change. `shared`: the proxy's shared state (null: private records, every endpoint healthy).
 */
export function reconcileClusters(
  previous: ReadonlyMap<string, UpstreamCluster>,
  configs: readonly Cluster[],
  shared: SharedState | null = null,
  /** The worker building them (its circuit-breaker holdings); -1: none. */
  workerId = -1,
): Map<string, UpstreamCluster> {
  const next = new Map<string, UpstreamCluster>();
  for (const config of configs) {
    const fingerprint = JSON.stringify(config);
    const old = previous.get(config.name);
    if (old !== undefined && old.fingerprint === fingerprint) {
      next.set(config.name, old);
    } else {
      // Counters continue across a definition change, as Envoy's cluster stats do.
      next.set(config.name, new UpstreamCluster(config, fingerprint, old?.counters, bindClusterState(config, shared, workerId)));
    }
  }
  for (const [name, old] of previous) {
    if (next.get(name) !== old) old.close();
  }
  return next;
}
