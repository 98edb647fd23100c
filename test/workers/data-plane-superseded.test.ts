// A data plane asked for several versions while a feature module loads (the RBAC
// code is imported when a config first uses it) applies the newest once the
// import is done, and reports no failure for the older ones: at startup a
// sidecar under xDS gets a version per endpoint that registers, more than the
// store keeps, and each used to come back as "config version N is not in the
// store". This file's module graph has not loaded the RBAC code yet (vitest
// isolates files), so the first apply really waits on the import.
import { describe, expect, it } from 'vitest';
import { KEPT_CONFIG_VERSIONS } from '../../src/store/kept-config-versions.js';
import { rbacConfig, standaloneDataPlane } from './standalone-data-plane.js';

describe('a data plane waiting on a feature import', () => {
  it('applies the newest version announced meanwhile and reports no failure for the superseded ones', async () => {
    const config = rbacConfig();
    const { dataPlane, store, messages, logged } = standaloneDataPlane();
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
