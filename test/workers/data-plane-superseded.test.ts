// A data plane asked for several versions while a feature module loads (the RBAC
// code is imported when a config first uses it) applies the newest once the
// import is done, and reports no failure for the older ones: at startup a
// sidecar under xDS gets a version per endpoint that registers, more than the
// store keeps, and each used to come back as "config version N is not in the
// store". This file's module graph has not loaded the RBAC code yet (vitest
// isolates files), so the first apply really waits on the import.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { MemoryConfigStore } from '../../src/store/memory-config-store.js';
import { KEPT_CONFIG_VERSIONS } from '../../src/store/kept-config-versions.js';
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

describe('a data plane waiting on a feature import', () => {
  it('applies the newest version announced meanwhile and reports no failure for the superseded ones', async () => {
    const route = { virtual_hosts: [{ name: 'svc', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };
    const config = parseBootstrap(bootstrapYaml(withHttpFilters(bootstrapWith(route, [{ name: 'backend', ports: [9] }]), [RBAC, ROUTER])), 'rbac.yaml');
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
      // More versions than the store keeps, each announced at once, as an agent does while the import runs.
      const versions = KEPT_CONFIG_VERSIONS + 3;
      for (let i = 0; i < versions; i++) dataPlane.applyVersion(await store.writeConfig(config));
      const deadline = Date.now() + 10_000;
      while (dataPlane.version !== versions && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(dataPlane.version).toBe(versions);
      expect(messages.filter((m) => m.type === 'config-failed')).toEqual([]);
      expect(messages.filter((m) => m.type === 'config-applied').map((m) => (m as { version: number }).version)).toEqual([versions]);
      expect(logged).toEqual([]);
    } finally {
      await dataPlane.shutdown(1000);
    }
  });
});
