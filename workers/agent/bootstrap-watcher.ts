// Watches the bootstrap file for changes. Editors and config managers
// replace files (write a temp file, rename it over), which a watch on the
// file itself loses, so the directory is watched. Any event there (a
// Kubernetes ConfigMap update only renames its `..data` symlink, never the
// file's own name) is debounced and leads to a reload only when the file's
// content differs from what was last loaded.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const RELOAD_DEBOUNCE_MS = 100;

export interface BootstrapWatcher {
  /** Remember this text as loaded, so an event that leaves the file unchanged triggers no reload. */
  markLoaded(text: string | null): void;
  close(): void;
}

/** Calls onChange (debounced) whenever the file's content differs from the last text passed to markLoaded. */
export function watchBootstrap(path: string, onChange: () => void, onError: (err: Error) => void): BootstrapWatcher {
  let timer: NodeJS.Timeout | null = null;
  let lastText: string | null = null;
  let closed = false;

  const check = async (): Promise<void> => {
    timer = null;
    let text: string | null;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      text = null; // deleted: the reload reports it once (markLoaded(null)), later events stay quiet
    }
    if (closed || text === lastText) return;
    onChange();
  };

  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, () => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void check(), RELOAD_DEBOUNCE_MS);
  });
  watcher.on('error', onError);

  return {
    markLoaded(text) {
      lastText = text;
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      watcher.close();
    },
  };
}
