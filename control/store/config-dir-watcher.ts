// Keeps the store's folder layer in step with the watched config folder:
// an event for a config file's name (editors rename temp files over) or for
// Kubernetes' `..data` link schedules a whole re-read once events have been
// quiet for 100 ms, or at most 1 s after the first (a folder edited without
// pause still gets read; other files, such as a log, count for nothing); an
// event during a read schedules one more read after it, never two at once.

import type { Logger } from '../../src/log.js';
import { RESOURCE_FILE } from '../config/parse-resources.js';
import { RELOAD_DEBOUNCE, type DebounceTiming } from '../../src/watch/debouncer.js';
import { KUBERNETES_DATA_LINK, watchFolder, type FolderWatch } from '../../src/watch/folder-watch.js';
import type { ConfigStore, DirSyncResult } from './config-store.js';
import { readDirSnapshot } from './dir-snapshot.js';

/** The names readResourceDir reads (control/config/parse-resources.ts). */

export interface ConfigDirWatcher {
  /** Resolves once no read is pending or running (tests and shutdown). */
  settled(): Promise<void>;
  close(): void;
}

/** Reads `dir` into the store now, then on every change; resolves after the first read. */
export async function watchConfigDir(
  dir: string, store: ConfigStore, log: Logger, timing: DebounceTiming = RELOAD_DEBOUNCE,
): Promise<ConfigDirWatcher> {
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  const syncOnce = async (): Promise<void> => {
    const snapshot = await readDirSnapshot(dir);
    if (closed) return;
    const result: DirSyncResult = await store.syncDirectory(snapshot);
    const problems = store.fileProblems().map((p) => `${p.source}: ${p.reason}`);
    const rejected = store.statuses().filter((s) => s.status === 'rejected').map((s) => `${s.key}: ${s.reason ?? ''}`);
    const fields = { dir, revision: result.revision, changedKeys: result.changedKeys, accepted: result.accepted, rejected: result.rejected };
    if (rejected.length > 0 || problems.length > 0) log.warn({ ...fields, problems: [...problems, ...rejected] }, 'config folder read with problems');
    else log.info(fields, 'config folder read');
  };

  const run = (): void => {
    if (closed) return;
    if (running !== null) {
      again = true;
      return;
    }
    running = syncOnce()
      .catch((err: unknown) => log.error({ err, dir }, 'config folder read failed'))
      .finally(() => {
        running = null;
        if (again && !closed) {
          again = false;
          run();
        }
      });
  };

  await syncOnce();
  let watcher: FolderWatch | null = null;
  try {
    watcher = watchFolder(dir, {
      timing,
      relevant: (name) => RESOURCE_FILE.test(name) || name === KUBERNETES_DATA_LINK,
      onChange: run,
      // A folder that is removed or replaced ends the watch; the read reports it and status keeps the last good config.
      onError: (err) => {
        log.error({ err, dir }, 'config folder watch failed; changes are no longer picked up');
        watcher?.poke();
      },
    });
  } catch (err) {
    log.error({ err, dir }, 'cannot watch the config folder; changes will not be picked up');
  }

  return {
    async settled() {
      for (let i = 0; i < 1000 && (watcher?.pending === true || running !== null); i++) {
        await (running ?? new Promise((r) => setTimeout(r, timing.quietMs)));
      }
    },
    close() {
      closed = true;
      watcher?.close();
    },
  };
}
