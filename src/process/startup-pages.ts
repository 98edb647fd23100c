// `isthmus proxy --startup-pages release` (the default): at three phase ends of
// startup (Node's bootstrap and the CLI, the agent's module graph, serving)
// the proxy drops its mappings of the node binary's clean read-only pages
// (native/binary_pages.cc). Startup touches far more of the binary than
// serving does: the dynamic symbol tables the linker read while binding
// libraries and addons, the parser and module-loader code, Node's JavaScript
// sources. Those pages stay in the page cache (shared with every other node
// process on the host); the proxy faults back the ones it uses (minor faults,
// once). The process's RSS then counts what it serves with, not what it
// started with: 1 worker, peak 66 -> ~50 MB, steady under load 64 -> 47 MB.
import { releaseBinaryPages } from '../native.js';

export type StartupPages = 'release' | 'keep';

/** Takes the --startup-pages setting; returns kB of the node binary's pages released (0 with "keep" or where unsupported). */
export function releaseStartupPages(setting: StartupPages): number {
  if (setting !== 'release') return 0;
  try {
    return releaseBinaryPages();
  } catch {
    return 0; // no /proc (not Linux): nothing to release, nothing lost
  }
}
