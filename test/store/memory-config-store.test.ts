import { describe, expect, it } from 'vitest';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { KEPT_CONFIG_VERSIONS } from '../../src/store/kept-config-versions.js';
import { MemoryConfigStore } from '../../src/store/memory-config-store.js';

const config = (n: number): Bootstrap => ({ listeners: [], clusters: [], n } as unknown as Bootstrap);

describe('MemoryConfigStore', () => {
  it('numbers versions from 1, keeps the last few, and makes the newest active', async () => {
    const store = new MemoryConfigStore();
    expect(store.activeVersion()).toBe(0);
    for (let i = 1; i <= KEPT_CONFIG_VERSIONS + 2; i++) expect(await store.writeConfig(config(i))).toBe(i);
    const last = KEPT_CONFIG_VERSIONS + 2;
    expect(store.activeVersion()).toBe(last);
    expect(store.readConfig(last)).toEqual(config(last));
    expect(store.readConfig(last - KEPT_CONFIG_VERSIONS + 1)).toBeDefined();
    expect(store.readConfig(last - KEPT_CONFIG_VERSIONS)).toBeUndefined();
  });
});
