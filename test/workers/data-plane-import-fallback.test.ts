// A data plane waiting on a feature import (the RBAC code, imported when a config first uses it) applies the newest
// version announced meanwhile; when that one fails to compile (here: more access log files than a proxy opens), the next
// older one still serves, as if each had been applied in turn. Applying only the newest left the data plane with
// no config at all (version 0: no listeners) though version 1 was good. Own file: vitest isolates files, so this
// module graph has not loaded the RBAC code yet and the first apply really waits on the import.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { MemoryConfigStore } from '../../src/store/memory-config-store.js';
import { MAX_ACCESS_LOG_SINKS } from '../../workers/access-log-sinks.js';
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

/** The RBAC config; with `logTo`, its connection manager also writes an access log to each of these files. */
function rbacConfig(logTo?: readonly string[]): ReturnType<typeof parseBootstrap> {
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

describe('a data plane whose newest version fails after a feature import', () => {
  it('serves the older good version announced with it and reports only the newest as failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-import-fallback-'));
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
    try {
      dataPlane.applyVersion(await store.writeConfig(rbacConfig()));
      const tooMany = Array.from({ length: MAX_ACCESS_LOG_SINKS + 1 }, (_, i) => join(dir, `access-${i}.log`));
      dataPlane.applyVersion(await store.writeConfig(rbacConfig(tooMany)));
      const deadline = Date.now() + 10_000;
      while (messages.length === 0 || (dataPlane.version === 0 && Date.now() < deadline)) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 100));
      expect(dataPlane.version).toBe(1);
      expect(messages.map((m) => `${m.type} ${(m as { version: number }).version}`)).toEqual(['config-failed 2', 'config-applied 1']);
      expect(logged).toEqual(['config not applied; keeping the previous one']);
    } finally {
      await dataPlane.shutdown(1000);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
