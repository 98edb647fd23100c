// The proxy's LMDB environment (DESIGN.md §4): one env per proxy data dir
// with named databases `xds`, `tables`, `checkcache` and `meta`. The agent is
// the only writer of config; every worker thread opens the same directory with
// ProxyStore.open() and reads the version the agent announced.
import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import type { Bootstrap } from '../config/bootstrap-types.js';

import type { ConfigStore } from './config-store.js';
import { KEPT_CONFIG_VERSIONS } from './kept-config-versions.js';

export { KEPT_CONFIG_VERSIONS } from './kept-config-versions.js';

const META_ACTIVE_VERSION = 'active_version';
const META_LAST_VERSION = 'last_version';

export class ProxyStore implements ConfigStore {
  /** Envoy resources by type and name (written once the proxy speaks xDS). */
  readonly xds: Database<unknown, string>;
  /** Validated config snapshots by version number. */
  readonly tables: Database<Bootstrap, number>;
  /** Mixer check results shared by all workers (DESIGN.md §5). */
  readonly checkcache: Database<unknown, string>;
  readonly meta: Database<unknown, string>;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly env: RootDatabase,
  ) {
    this.xds = env.openDB<unknown, string>({ name: 'xds', encoding: 'msgpack' });
    this.tables = env.openDB<Bootstrap, number>({ name: 'tables', encoding: 'msgpack' });
    this.checkcache = env.openDB<unknown, string>({ name: 'checkcache', encoding: 'msgpack' });
    this.meta = env.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
  }

  /** Opens (creating when missing) the environment in `dir`; safe from any thread of the process. */
  static open(dir: string): ProxyStore {
    mkdirSync(dir, { recursive: true });
    // noSubdir: lmdb-js otherwise takes a name with a dot (proxy-reviews.v1) for a file, not a directory.
    const env = open(dir, { maxDbs: 8, mapSize: 64 * 1024 * 1024, noSubdir: false });
    return new ProxyStore(dir, env);
  }

  /** Stores `bootstrap` as a new version (last + 1) and makes it active; resolves once committed and visible to readers. */
  async writeConfig(bootstrap: Bootstrap): Promise<number> {
    let version = 0;
    await this.env.transaction(() => {
      version = this.lastVersion() + 1;
      this.tables.put(version, bootstrap);
      this.meta.put(META_LAST_VERSION, version);
      this.meta.put(META_ACTIVE_VERSION, version);
      for (const { key } of this.tables.getRange({ end: version - KEPT_CONFIG_VERSIONS + 1 })) {
        this.tables.remove(key);
      }
    });
    return version;
  }

  /** The stored config of `version`, or undefined when it was never written or has been pruned. */
  readConfig(version: number): Bootstrap | undefined {
    this.refresh();
    return this.tables.get(version);
  }

  /** The version workers should serve; 0 when nothing was written yet. */
  activeVersion(): number {
    this.refresh();
    const v = this.meta.get(META_ACTIVE_VERSION);
    return typeof v === 'number' ? v : 0;
  }

  /** Versions still kept in `tables`, ascending. */
  storedVersions(): number[] {
    this.refresh();
    return [...this.tables.getKeys()];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.env.close();
  }

  private lastVersion(): number {
    const v = this.meta.get(META_LAST_VERSION);
    return typeof v === 'number' ? v : 0;
  }

  /** lmdb-js reuses a read snapshot within an event turn; another thread's commit must become visible at once. */
  private refresh(): void {
    this.env.resetReadTxn();
  }
}
