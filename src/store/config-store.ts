// Where the agent puts each validated config version for the data planes to
// read: LMDB (ProxyStore) when they run in worker threads, which cannot share
// the agent's objects; plain memory (MemoryConfigStore) when the one data
// plane runs on the agent's own thread, which spares loading lmdb and
// msgpackr at all (≈ 5 MB of RSS, see the one-thread mode notes).
import type { Bootstrap } from '../config/bootstrap-types.js';

export interface ConfigStore {
  /** Stores `bootstrap` as a new version (last + 1) and makes it active; resolves once readers can see it. */
  writeConfig(bootstrap: Bootstrap): Promise<number>;
  /** The stored config of `version`, or undefined when it was never written or has been pruned. */
  readConfig(version: number): Bootstrap | undefined;
  /** The version data planes should serve; 0 when nothing was written yet. */
  activeVersion(): number;
  close(): Promise<void>;
}
