// A worker thread's config versions: the agent sends each version's config
// with its announcement (structured clone over the BroadcastChannel; the
// current one in workerData to a thread that starts or restarts), and the
// data plane reads it from here as the one-thread mode reads the agent's
// MemoryConfigStore. Worker threads used to read versions from LMDB: lmdb-js
// and msgpackr cost every isolate ~2 MB of heap (and the agent its own copy),
// to pass an object a message carries as well.
import type { Bootstrap } from '../src/config/bootstrap-types.js';
import type { ConfigStore } from '../src/store/config-store.js';
import { KEPT_CONFIG_VERSIONS } from '../src/store/kept-config-versions.js';

export class AnnouncedConfigStore implements ConfigStore {
  private readonly versions = new Map<number, Bootstrap>();
  private active = 0;

  /** Takes an announced version and its config; an older one than the newest held is ignored (messages may cross). */
  accept(version: number, config: Bootstrap): void {
    if (version <= this.active) return;
    this.active = version;
    this.versions.set(version, config);
    for (const v of this.versions.keys()) if (v <= version - KEPT_CONFIG_VERSIONS) this.versions.delete(v);
  }

  writeConfig(): Promise<number> {
    return Promise.reject(new Error("a worker thread's config store is written by the agent's announcements only"));
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
