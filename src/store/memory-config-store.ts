// The config versions of a proxy whose one data plane runs on the agent's
// thread: the same contract as ProxyStore, held in memory (the objects are
// the agent's validated, never-mutated configs, so nothing is copied).
import type { Bootstrap } from '../config/bootstrap-types.js';
import type { ConfigStore } from './config-store.js';
import { KEPT_CONFIG_VERSIONS } from './kept-config-versions.js';

export class MemoryConfigStore implements ConfigStore {
  private readonly versions = new Map<number, Bootstrap>();
  private active = 0;

  writeConfig(bootstrap: Bootstrap): Promise<number> {
    const version = ++this.active;
    this.versions.set(version, bootstrap);
    this.versions.delete(version - KEPT_CONFIG_VERSIONS);
    return Promise.resolve(version);
  }

  readConfig(version: number): Bootstrap | undefined {
    return this.versions.get(version);
  }

  activeVersion(): number {
    return this.active;
  }

  close(): Promise<void> {
    this.versions.clear();
    return Promise.resolve();
  }
}
