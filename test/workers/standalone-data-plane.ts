// For tests of one DataPlane built alone (no agent, no worker thread): the RBAC config whose first apply waits on
// the RBAC code's import, and the data plane over a MemoryConfigStore with its messages and log lines collected.
// Importing this module loads no RBAC code (the DataPlane imports it on first use), so each test file's first
// apply still waits on the import.
import { randomBytes } from 'node:crypto';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { MemoryConfigStore } from '../../src/store/memory-config-store.js';
import { createConnectionCounts } from '../../workers/connection-limit.js';
import { DataPlane } from '../../workers/data-plane.js';
import { SharedState } from '../../workers/shared-state/state-layout.js';
import type { WorkerMessage } from '../../workers/worker-protocol.js';
import { bootstrapWith, bootstrapYaml } from '../e2e/harness.js';
import { withHttpFilters } from '../e2e/http-filter-config.js';

const RBAC = {
  name: 'envoy.filters.http.rbac',
  typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC', rules: { action: 'DENY', policies: {} } },
};
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const FILE_LOG = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

/** A listener with an RBAC filter routing to a cluster; with `logTo`, its connection manager also logs to each of these files. */
export function rbacConfig(logTo?: readonly string[]): Bootstrap {
  const route = { virtual_hosts: [{ name: 'svc', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };
  const bootstrap = withHttpFilters(bootstrapWith(route, [{ name: 'backend', ports: [9] }]), [RBAC, ROUTER]) as {
    static_resources: { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] };
  };
  if (logTo !== undefined) {
    bootstrap.static_resources.listeners[0]!.filter_chains[0]!.filters[0]!.typed_config.access_log = logTo.map((path) => (
      { name: 'envoy.access_loggers.file', typed_config: { '@type': FILE_LOG, path } }
    ));
  }
  return parseBootstrap(bootstrapYaml(bootstrap), 'rbac.yaml');
}

export interface StandaloneDataPlane {
  readonly dataPlane: DataPlane;
  readonly store: MemoryConfigStore;
  /** What it posted to its (absent) agent, in order. */
  readonly messages: WorkerMessage[];
  /** The messages of its warn and error log lines. */
  readonly logged: string[];
}

/** A data plane of worker 0 over an empty MemoryConfigStore; the caller shuts it down. */
export function standaloneDataPlane(): StandaloneDataPlane {
  const store = new MemoryConfigStore();
  const messages: WorkerMessage[] = [];
  const logged: string[] = [];
  const log = { warn: (o: object | string, m?: string) => logged.push(m ?? String(o)), error: (o: object | string, m?: string) => logged.push(m ?? String(o)) };
  const dataPlane = new DataPlane({
    workerId: 0, dataDir: '', serviceName: 'unknown', namespace: 'default', accessLog: 'off', logLevel: 'warn', logFormat: 'json', logColor: false,
    maxHeadBytes: 60 * 1024, maxHeaders: 100, maxConnections: 0, transport: 'node',
    connectionCounts: createConnectionCounts(1), sharedState: SharedState.create({ clusters: 8, endpoints: 64, workers: 1 }).buffer,
    tlsTicketKey: randomBytes(80),
  }, store, log, (m) => messages.push(m));
  return { dataPlane, store, messages, logged };
}
