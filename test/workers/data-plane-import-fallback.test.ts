// A data plane waiting on a feature import (the RBAC code, imported when a config first uses it) applies the newest
// version announced meanwhile; when that one fails to compile (here: more access log files than a proxy opens), the next
// older one still serves, as if each had been applied in turn. Applying only the newest left the data plane with
// no config at all (version 0: no listeners) though version 1 was good. Own file: vitest isolates files, so this
// module graph has not loaded the RBAC code yet and the first apply really waits on the import.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_ACCESS_LOG_SINKS } from '../../workers/access-log-sinks.js';
import { rbacConfig, standaloneDataPlane } from './standalone-data-plane.js';

describe('a data plane whose newest version fails after a feature import', () => {
  it('serves the older good version announced with it and reports only the newest as failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-import-fallback-'));
    const { dataPlane, store, messages, logged } = standaloneDataPlane();
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
