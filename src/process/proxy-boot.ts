// What `isthmus proxy` does first, from bin/isthmus.js before the CLI loads:
// settings that only help when made before threads and modules exist.
import { capMallocArenas } from './malloc-arenas.js';
import { fixMallocThresholds } from './malloc-thresholds.js';
import { startStartupReleaser, type StartupPages } from './startup-pages.js';

/** Takes the arguments after `proxy`; returns the --startup-pages setting they give ("release" unless they say otherwise). */
export function startupPagesArgument(args: readonly string[]): StartupPages {
  let setting: StartupPages = 'release';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    const value = a === '--startup-pages' ? args[i + 1] : a.startsWith('--startup-pages=') ? a.slice('--startup-pages='.length) : undefined;
    if (value !== undefined) setting = value === 'keep' ? 'keep' : 'release';
  }
  return setting;
}

/** Takes the arguments after `proxy`; caps malloc arenas, fixes malloc's trim and mmap thresholds and starts the startup page releaser (option parsing, later, stops it when it was not wanted). */
export function prepareProxyProcess(args: readonly string[]): void {
  capMallocArenas();
  fixMallocThresholds();
  startStartupReleaser(startupPagesArgument(args));
}
