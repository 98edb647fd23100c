// Watches the bootstrap file for changes. The folder is watched (see
// src/watch/folder-watch.ts), but only events for the file's own name, or
// for Kubernetes' `..data` link (a ConfigMap update swaps only that link,
// never the file's name), count: another file being written in the same
// folder, such as an access log, neither triggers nor delays a reload.
// When the path is a symlink to a file in the same folder (`envoy.yaml ->
// envoy-prod.yaml`), an edit of that file names only the target, so the
// target's name counts too (looked up again after every change: the link
// may be re-pointed).
// Events are debounced (100 ms quiet, 1 s at most, so a file rewritten
// without pause still reloads every second), and lead to a reload only when
// the file's content differs from what was last loaded.
import { realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { RELOAD_DEBOUNCE } from '../../src/watch/debouncer.js';
import { KUBERNETES_DATA_LINK, watchFolder } from '../../src/watch/folder-watch.js';

export interface BootstrapWatcher {
  /** Remember this text as loaded, so an event that leaves the file unchanged triggers no reload. */
  markLoaded(text: string | null): void;
  close(): void;
}

/** Calls onChange (debounced) whenever the file's content differs from the last text passed to markLoaded. */
export function watchBootstrap(path: string, onChange: () => void, onError: (err: Error) => void): BootstrapWatcher {
  const name = basename(path);
  let lastText: string | null = null;
  let closed = false;
  /** The name of the file a symlinked path resolves to, when that file is in the watched folder. */
  let targetName: string | null = null;

  // Synchronous (once at start and once per debounced change, never per event): known before the first event.
  const findTarget = (): void => {
    try {
      const real = realpathSync(path);
      const realDir = realpathSync(dirname(path));
      targetName = dirname(real) === realDir && basename(real) !== name ? basename(real) : null;
    } catch {
      targetName = null; // no file (yet): its own name's events still count
    }
  };

  const check = async (): Promise<void> => {
    findTarget();
    let text: string | null;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      text = null; // deleted: the reload reports it once (markLoaded(null)), later events stay quiet
    }
    if (closed || text === lastText) return;
    onChange();
  };

  const watch = watchFolder(dirname(path), {
    timing: RELOAD_DEBOUNCE,
    relevant: (entry) => entry === name || entry === KUBERNETES_DATA_LINK || entry === targetName,
    onChange: () => void check(),
    onError,
  });

  findTarget();

  return {
    markLoaded(text) {
      lastText = text;
    },
    close() {
      closed = true;
      watch.close();
    },
  };
}
