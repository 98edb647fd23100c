// One data plane: reads a config version from the proxy's config store,
// compiles it into its own lookup tables off the request path, swaps one
// reference, and serves its share of every listening port until shut down.
// It runs in a worker thread (worker-main.ts, --workers N >= 2) or on the
// main thread beside the agent (agent/in-thread-data-plane.ts, --workers 1);
// `post` carries its messages to the agent either way.
import { h2CountersSnapshot } from './http2/h2-counters.js';
import { resolveSdsSecrets, type SdsSecrets } from '../src/config/sds-secrets.js';
import type { Bootstrap } from '../src/config/bootstrap-types.js';
import type { DataPlaneLog } from './worker-log.js';
import { RouteTable } from '../src/routing/route-table.js';
import type { ConfigStore } from '../src/store/config-store.js';
import { AccessLogSet } from './access-log-set.js';
import { AccessLogSinks } from './access-log-sinks.js';
import type { DataPlaneSnapshot, ListenerRuntime } from './data-plane-snapshot.js';
import { ListenerSet } from './listener-set.js';
import { compileListenerFilters } from './route-filters.js';
import { configureParseLimits } from './parse-scratch.js';
import { reconcileClusters } from './upstream-cluster.js';
import { setEjectionListener } from './shared-state/endpoint-state.js';
import { HEADER, SharedState } from './shared-state/state-layout.js';
import { SharedActiveFaults } from './shared-state/active-faults.js';
import { RateLimitTable } from './shared-state/rate-limit-buckets.js';
import { ConnectionLimit } from './connection-limit.js';
import { hostSetRefresher } from './balancers/host-set-refresher.js';

import { WorkerContext } from './worker-context.js';
import { loadFeaturesFor } from './feature-modules.js';
import { KEPT_CONFIG_VERSIONS } from '../src/store/kept-config-versions.js';
import { configureCheckCacheDb } from './filters/mixer/check-cache-db.js';
import { flushAllReports } from './filters/mixer/report-batcher.js';
import { setTransportKind } from './transport-socket.js';
import { setTlsTicketKey } from './listener-chains.js';
import type { ClusterStatus, WorkerInit, WorkerMessage, WorkerStatsSnapshot } from './worker-protocol.js';
import { workerTracingCounters } from './tracing/tracing-counters.js';

/** How long shutdown waits for the access log's last lines to be written (a stalled destination is not waited for). */
const ACCESS_LOG_DRAIN_LIMIT_MS = 1000;

export class DataPlane {
  private readonly worker: WorkerContext;
  private readonly listeners: ListenerSet;
  private readonly sharedState: SharedState;
  private stopping: Promise<void> | null = null;
  private secrets: SdsSecrets;
  /**
   * Versions waiting for a feature import (loadFeaturesFor), oldest first; at most KEPT_CONFIG_VERSIONS, as the store
   * keeps no more. Once the import is done the newest is applied; only if it fails, the next older one, and so on.
   */
  private waitingForImport: number[] = [];

  constructor(
    private readonly init: WorkerInit,
    private readonly store: ConfigStore,
    private readonly log: DataPlaneLog,
    private readonly post: (message: WorkerMessage) => void,
  ) {
    this.secrets = init.secrets ?? {};
    configureParseLimits(init.maxHeadBytes, init.maxHeaders);
    setTransportKind(init.transport);
    // The session-ticket key the agent made: the same in every worker thread and in the in-thread data plane.
    if (init.tlsTicketKey !== undefined && init.tlsTicketKey.length === 80) setTlsTicketKey(init.tlsTicketKey);
    /** Circuit breakers, health and outlier counters, shared with the agent and every other worker. */
    const sharedState = (this.sharedState = new SharedState(init.sharedState));
    // Host sets are rebuilt when a health change is signalled in the shared state (no polling timer).
    hostSetRefresher.watch(sharedState.ints);
    const sinks = new AccessLogSinks(() => Atomics.add(sharedState.ints, HEADER.ACCESS_LOG_DROPPED, 1));
    this.worker = new WorkerContext(
      init.workerId,
      sinks.open(init.accessLog),
      new ConnectionLimit(init.connectionCounts, init.workerId, init.maxConnections),
      sinks,
    );
    // max_active_faults counts per proxy: every worker takes its slots from one shared counter.
    this.worker.filterStats.faultGate = new SharedActiveFaults(sharedState, init.workerId);
    // Local rate limit buckets are per proxy: every worker takes tokens from the same shared ones.
    if (init.rateLimitState !== undefined) this.worker.filterStats.rateLimitTable = new RateLimitTable(init.rateLimitState);
    this.worker.filterStats.onRateLimitTableFull = () => log.warn('local rate limit: the shared bucket table is full; new buckets count per worker');
    if (init.mixerCounters !== undefined) this.worker.filterStats.mixerCounters = new Int32Array(init.mixerCounters);
    if (init.tracingCounters !== undefined) this.worker.tracing.counters = workerTracingCounters(init.tracingCounters, init.workerId);
    // Spans name the workload as Istio's sidecars do (node cluster "<service>.<namespace>").
    this.worker.tracing.serviceName = init.serviceName === 'unknown' ? 'isthmus' : `${init.serviceName}.${init.namespace}`;
    this.worker.tracing.nodeId = `sidecar~${init.serviceName}.${init.namespace}~${init.workerId}`;
    // The policy filter's check cache lives in the proxy's LMDB environment, shared by every worker.
    configureCheckCacheDb(store, init.dataDir);
    this.listeners = new ListenerSet(this.worker);
    // An ejection this data plane made: the agent logs it and brings the endpoint back in time.
    setEjectionListener((notice) => post({ type: 'outlier-ejection', ...notice }));
  }

  get workerId(): number {
    return this.init.workerId;
  }

  /** The version this data plane serves; 0 before the first. */
  get version(): number {
    return this.worker.snapshot.version;
  }

  /** Compiles a stored config and swaps it in; on any failure the previous snapshot stays. `secrets`: the agent's SDS secrets for it. */
  applyVersion(version: number, secrets?: SdsSecrets): void {
    if (secrets !== undefined) this.secrets = secrets;
    if (this.stopping !== null || version <= this.worker.snapshot.version) return;
    const stored: Bootstrap | undefined = this.store.readConfig(version);
    if (stored === undefined) {
      this.post({ type: 'config-failed', version, error: `config version ${version} is not in the store` });
      return;
    }
    // TLS contexts naming the agent's SDS secrets get their PEMs here, in memory (they are not in the store).
    const { bootstrap: config, missing } = resolveSdsSecrets(stored, this.secrets);
    if (missing.length > 0) {
      this.post({ type: 'config-failed', version, error: `SDS secrets ${missing.join(', ')} are not available yet` });
      return;
    }
    // A feature this data plane has not loaded yet (feature-modules.ts): its import first, then this version again.
    const loading = loadFeaturesFor(config);
    if (loading !== null) {
      // Versions announced while the import ran are newer: the newest is applied then, an older one only if that
      // fails (as if they had been applied in turn). Older ones may be pruned from the store by now (it keeps
      // KEPT_CONFIG_VERSIONS), which is no failure: they were superseded.
      const waiting = this.waitingForImport;
      // The first waiter of a batch takes the one continuation; later ones only join the list it reads.
      const first = waiting.length === 0;
      if (!waiting.includes(version)) waiting.push(version);
      waiting.sort((a, b) => a - b);
      if (waiting.length > KEPT_CONFIG_VERSIONS) waiting.splice(0, waiting.length - KEPT_CONFIG_VERSIONS);
      if (first) {
        loading.then(
          () => this.applyAfterImport(),
          (err: unknown) => {
            const failed = this.waitingForImport;
            this.waitingForImport = [];
            const error = `loading the modules it uses failed: ${err instanceof Error ? err.message : String(err)}`;
            for (const v of failed) this.post({ type: 'config-failed', version: v, error });
          },
        );
      }
      return;
    }
    try {
      const compiled = new Map<string, ListenerRuntime>();
      for (const l of config.listeners) {
        const chains = l.filterChains.map((c) => ({
          hcm: c.hcm,
          routes: RouteTable.compile(c.hcm.routeConfig),
          filters: compileListenerFilters({ ...l, ...c.hcm }, this.worker.filterStats),
          accessLogs: AccessLogSet.compile(c.hcm.accessLogs ?? [], this.worker.accessLog, this.worker.accessLogSinks, {
            localAddress: l.address.address, localPort: l.address.port,
          }),
        }));
        compiled.set(l.name, { config: l, chains });
      }
      this.listeners.apply(config.listeners);
      const snapshot: DataPlaneSnapshot = {
        version,
        listeners: compiled,
        clusters: reconcileClusters(this.worker.snapshot.clusters, config.clusters, this.sharedState, this.init.workerId),
      };
      this.worker.snapshot = snapshot;
      this.post({ type: 'config-applied', version });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.log.error({ version, err: error }, 'config not applied; keeping the previous one');
      this.post({ type: 'config-failed', version, error });
    }
  }

  /** The import the waiting versions needed is done: the newest that applies, newest first (the rest are superseded). */
  private applyAfterImport(): void {
    const waiting = this.waitingForImport;
    this.waitingForImport = [];
    for (let i = waiting.length - 1; i >= 0; i--) {
      const version = waiting[i]!;
      if (this.stopping !== null || version <= this.worker.snapshot.version) return;
      // An older one pruned meanwhile: superseded, not failed (the newest's failure was reported).
      if (i < waiting.length - 1 && this.store.readConfig(version) === undefined) return;
      this.applyVersion(version, this.secrets);
      if (this.worker.snapshot.version === version) return;
    }
  }

  statsSnapshot(): WorkerStatsSnapshot {
    const worker = this.worker;
    const clusters = [...worker.snapshot.clusters.values()].map((c) => ({ ...c.counters }));
    return {
      workerId: this.init.workerId,
      downstreamCxActive: worker.connections.size,
      downstreamCxTotal: worker.downstreamCxTotal,
      downstreamCxOverflow: worker.downstreamCxOverflow,
      acceptPausedTotal: worker.acceptPausedTotal,
      tlsHandshakeTotal: worker.tlsHandshakes,
      tlsHandshakeErrorTotal: worker.tlsHandshakeFailures,
      noFilterChainMatchTotal: worker.noFilterChainMatch,
      listenerFiltersTimeoutTotal: worker.listenerFiltersTimeout,
      http2: h2CountersSnapshot(),
      downstreamRqTotal: worker.stats.downstreamRqTotal,
      configVersion: worker.snapshot.version,
      requests: worker.stats.snapshot(),
      clusters,
      httpFilters: worker.filterStats.snapshot(),
      tcpProxy: worker.tcpStats.snapshot(),
    };
  }

  clusterStatus(): ClusterStatus[] {
    // /clusters shows health from the shared state: first bring the host sets up to it, so what the admin
    // shows is what picks use (the refresher would on the health change's signal anyway).
    hostSetRefresher.tick();
    return [...this.worker.snapshot.clusters.values()].map((c) => c.status());
  }

  /** Stops accepting on every listener; open connections keep being served. */
  drainListeners(): void {
    this.listeners.closeAll();
  }

  /**
   * Stops accepting, lets every connection finish its current response within timeoutMs, then closes what is
   * left and every upstream pool. Resolves once done; idempotent. The store stays open (its owner closes it).
   */
  shutdown(timeoutMs: number): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const worker = this.worker;
      this.listeners.closeAll();
      worker.draining = true;
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        for (const c of worker.connections) c.destroy();
        for (const c of worker.snapshot.clusters.values()) c.close();
        flushAllReports();
        // Lines wait up to ACCESS_LOG_FLUSH_INTERVAL_MS for their batch: write them before the thread may be ended.
        const logged = setTimeout(resolve, ACCESS_LOG_DRAIN_LIMIT_MS);
        logged.unref();
        void worker.accessLogSinks.drainAll().then(() => {
          clearTimeout(logged);
          resolve();
        });
      };
      worker.onIdle = finish;
      for (const c of [...worker.connections]) c.drain();
      if (worker.connections.size === 0) finish();
      else setTimeout(finish, timeoutMs).unref();
    });
    return this.stopping;
  }
}
