// One immutable view of the config as this worker runs it: per listener its
// compiled route table, and the cluster runtimes. A request holds the
// snapshot it started with; a reload swaps the worker's reference.
import type { Listener, ListenerHcm } from '../src/config/bootstrap-types.js';
import type { RouteTable } from '../src/routing/route-table.js';
import type { AccessLogSet } from './access-log-set.js';
import type { ListenerFilters } from './route-filters.js';
import type { UpstreamCluster } from './upstream-cluster.js';

export interface ListenerRuntime {
  readonly config: Listener;
  /** Per filter chain (a connection's chainIndex): its HCM's routes and filters. */
  readonly chains: readonly ChainRuntime[];
}

export interface ChainRuntime {
  readonly hcm: ListenerHcm;
  readonly routes: RouteTable;
  /** Each route's HTTP filter chain; null when no route has a filter (requests go straight to the router). */
  readonly filters: ListenerFilters | null;
  /** The chain's access logs (the default one and its HCM's access_log); null when there are none. */
  readonly accessLogs: AccessLogSet | null;
}

export interface DataPlaneSnapshot {
  readonly version: number;
  readonly listeners: ReadonlyMap<string, ListenerRuntime>;
  readonly clusters: ReadonlyMap<string, UpstreamCluster>;
}

export const EMPTY_SNAPSHOT: DataPlaneSnapshot = { version: 0, listeners: new Map(), clusters: new Map() };
