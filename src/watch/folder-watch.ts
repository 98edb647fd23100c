// Watches a folder for changes to the names that matter, debounced. A folder
// watch, not a file watch: editors and config managers replace a file
// (write a temp file, rename it over), which ends a watch on the file itself.
// Events for other names (an access log written beside the config) are
// ignored, so they neither trigger reads nor push a pending one back.
import { watch, type FSWatcher } from 'node:fs';
import { Debouncer, type DebounceTimers, type DebounceTiming } from './debouncer.js';

/** The name Kubernetes swaps atomically on a ConfigMap or Secret update (`name -> ..data/name`, `..data -> ..2024_..`). */
export const KUBERNETES_DATA_LINK = '..data';

export interface FolderWatchOptions {
  readonly timing: DebounceTiming;
  /** Whether an event for this entry name matters; null: the platform did not say which (always matters). */
  readonly relevant: (name: string) => boolean;
  /** Called (debounced) after relevant events. */
  readonly onChange: () => void;
  /** The watch failed (folder removed or replaced); changes are no longer seen. */
  readonly onError: (err: Error) => void;
  readonly timers?: DebounceTimers;
}

export interface FolderWatch {
  /** Whether a debounced onChange is scheduled. */
  readonly pending: boolean;
  /** Counts as a relevant event (e.g. after a watch error, so a read reports the folder's state). */
  poke(): void;
  close(): void;
}

/** Takes a folder; throws when it cannot be watched. */
export function watchFolder(dir: string, options: FolderWatchOptions): FolderWatch {
  const debouncer = new Debouncer(options.timing, options.onChange, options.timers);
  const watcher: FSWatcher = watch(dir, { persistent: false }, (_event, name) => {
    if (name === null || options.relevant(String(name))) debouncer.event();
  });
  watcher.on('error', options.onError);
  return {
    get pending() {
      return debouncer.pending;
    },
    poke() {
      debouncer.event();
    },
    close() {
      debouncer.stop();
      watcher.close();
    },
  };
}
