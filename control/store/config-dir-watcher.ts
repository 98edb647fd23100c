// Keeps the store's folder layer in step with the watched config folder:
// any event in the folder (editors rename temp files over, Kubernetes swaps
// a `..data` symlink) schedules a whole re-read 100 ms after the last event;
// an event during a read schedules one more read after it, never two at once.

import { watch, type FSWatcher } from 'node:fs';
import type { Logger } from '../../src/log.js';
import type { ConfigStore, DirSyncResult } from './config-store.js';
import { readDirSnapshot } from './dir-snapshot.js';

export const CONFIG_DIR_DEBOUNCE_MS = 100;

export interface ConfigDirWatcher {
  /** Resolves once no read is pending or running (tests and shutdown). */
  settled(): Promise<void>;
  close(): void;
}

/** Reads `dir` into the store now, then on every change; resolves after the first read. */
export async function watchConfigDir(
  dir: string, store: ConfigStore, log: Logger, debounceMs = CONFIG_DIR_DEBOUNCE_MS,
): Promise<ConfigDirWatcher> {
  let timer: NodeJS.Timeout | null = null;
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
    timer = null;
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

  const schedule = (): void => {
    if (closed) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(run, debounceMs);
  };

  await syncOnce();
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, { persistent: false }, schedule);
    // A folder that is removed or replaced ends the watch; the read reports it and status keeps the last good config.
    watcher.on('error', (err) => {
      log.error({ err, dir }, 'config folder watch failed; changes are no longer picked up');
      schedule();
    });
  } catch (err) {
    log.error({ err, dir }, 'cannot watch the config folder; changes will not be picked up');
  }

  return {
    async settled() {
      for (let i = 0; i < 1000 && (timer !== null || running !== null); i++) {
        await (running ?? new Promise((r) => setTimeout(r, debounceMs)));
      }
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      watcher?.close();
    },
  };
}
