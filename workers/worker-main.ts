// Entry point of a data-plane worker thread. It reads the active config from
// the proxy's LMDB environment, compiles it into its own lookup tables off
// the request path, swaps one reference, and serves its share of every
// listening port until told to shut down.
import { setTlsTicketKey } from './listener-chains.js';
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import type { Bootstrap } from '../src/config/bootstrap-types.js';
import { createLogger, setLogLevel } from '../src/log.js';
import { RouteTable } from '../src/routing/route-table.js';
import { ProxyStore } from '../src/store/proxy-store.js';
import { AccessLog } from './access-log.js';
import type { DataPlaneSnapshot, ListenerRuntime } from './data-plane-snapshot.js';
import { ListenerSet } from './listener-set.js';
import { compileListenerFilters } from './route-filters.js';
import { configureParseLimits } from './parse-scratch.js';
import { reconcileClusters } from './upstream-cluster.js';
import { setEjectionListener } from './shared-state/endpoint-state.js';
import { HEADER, SharedState } from './shared-state/state-layout.js';
import { SharedActiveFaults } from './shared-state/active-faults.js';
import { ConnectionLimit } from './connection-limit.js';
import { hostSetRefresher } from './balancers/host-set-refresher.js';
import { WorkerContext } from './worker-context.js';
import {
  CONFIG_CHANNEL,
  type AgentMessage,
  type ConfigAnnouncement,
  type WorkerInit,
  type WorkerMessage,
  type WorkerStatsSnapshot,
} from './worker-protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const log = createLogger(`worker-${init.workerId}`, init.logLevel, { format: init.logFormat, colorize: init.logColor });
configureParseLimits(init.maxHeadBytes, init.maxHeaders);
if (init.tlsTicketKey !== undefined && init.tlsTicketKey.length === 80) setTlsTicketKey(init.tlsTicketKey);

const store = ProxyStore.open(init.dataDir);
/** Circuit breakers, health and outlier counters, shared with the agent and every other worker. */
const sharedState = new SharedState(init.sharedState);
const worker = new WorkerContext(
  init.workerId,
  new AccessLog(init.accessLog, () => Atomics.add(sharedState.ints, HEADER.ACCESS_LOG_DROPPED, 1)),
  new ConnectionLimit(init.connectionCounts, init.workerId, init.maxConnections),
);
// max_active_faults counts per proxy: every worker takes its slots from one shared counter.
worker.filterStats.faultGate = new SharedActiveFaults(sharedState, init.workerId);
const listeners = new ListenerSet(worker);
const channel = new BroadcastChannel(CONFIG_CHANNEL);

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

// An ejection this worker made: the agent logs it and brings the endpoint back in time.
setEjectionListener((notice) => post({ type: 'outlier-ejection', ...notice }));

/** Compiles a stored config and swaps it in; on any failure the previous snapshot stays. */
function applyVersion(version: number): void {
  if (version <= worker.snapshot.version) return;
  const config: Bootstrap | undefined = store.readConfig(version);
  if (config === undefined) {
    post({ type: 'config-failed', version, error: `config version ${version} is not in the store` });
    return;
  }
  try {
    const compiled = new Map<string, ListenerRuntime>();
    for (const l of config.listeners) {
      const chains = l.filterChains.map((c) => ({
        hcm: c.hcm,
        routes: RouteTable.compile(c.hcm.routeConfig),
        filters: compileListenerFilters({ ...l, ...c.hcm }, worker.filterStats),
      }));
      compiled.set(l.name, { config: l, chains });
    }
    listeners.apply(config.listeners);
    const snapshot: DataPlaneSnapshot = {
      version,
      listeners: compiled,
      clusters: reconcileClusters(worker.snapshot.clusters, config.clusters, sharedState, init.workerId),
    };
    worker.snapshot = snapshot;
    post({ type: 'config-applied', version });
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log.error({ version, err: error }, 'config not applied; keeping the previous one');
    post({ type: 'config-failed', version, error });
  }
}

function statsSnapshot(): WorkerStatsSnapshot {
  const clusters = [...worker.snapshot.clusters.values()].map((c) => ({ ...c.counters }));
  return {
    workerId: init.workerId,
    downstreamCxActive: worker.connections.size,
    downstreamCxTotal: worker.downstreamCxTotal,
    downstreamCxOverflow: worker.downstreamCxOverflow,
    acceptPausedTotal: worker.acceptPausedTotal,
    tlsHandshakeTotal: worker.tlsHandshakes,
    tlsHandshakeErrorTotal: worker.tlsHandshakeFailures,
    noFilterChainMatchTotal: worker.noFilterChainMatch,
    downstreamRqTotal: worker.stats.downstreamRqTotal,
    configVersion: worker.snapshot.version,
    requests: worker.stats.snapshot(),
    clusters,
    httpFilters: worker.filterStats.snapshot(),
  };
}

function shutdown(timeoutMs: number): void {
  listeners.closeAll();
  channel.close();
  worker.draining = true;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    for (const c of worker.connections) c.destroy();
    for (const c of worker.snapshot.clusters.values()) c.close();
    void store.close().finally(() => {
      post({ type: 'drained' });
      port.close();
    });
  };
  worker.onIdle = finish;
  for (const c of [...worker.connections]) c.drain();
  if (worker.connections.size === 0) finish();
  else setTimeout(finish, timeoutMs).unref();
}

port.on('message', (msg: AgentMessage) => {
  switch (msg.type) {
    case 'stats':
      post({ type: 'stats', id: msg.id, snapshot: statsSnapshot() });
      break;
    case 'clusters':
      // /clusters shows health from the shared state: first bring this worker's host sets up to it, so what
      // the admin shows is what picks use (the refresher's timer would within HOST_SET_REFRESH_MS anyway).
      hostSetRefresher.tick();
      post({ type: 'clusters', id: msg.id, clusters: [...worker.snapshot.clusters.values()].map((c) => c.status()) });
      break;
    case 'drain-listeners':
      listeners.closeAll();
      break;
    case 'log-level':
      setLogLevel(msg.level);
      break;
    case 'shutdown':
      shutdown(msg.timeoutMs);
      break;
  }
});

channel.onmessage = (event: unknown) => {
  const data = (event as { data: ConfigAnnouncement }).data;
  applyVersion(data.version);
};

applyVersion(store.activeVersion());
