// `isthmus proxy --startup-pages release` (the default): at three phase ends of
// startup (Node's bootstrap and the CLI, the agent's module graph, serving)
// the proxy drops its mappings of the clean read-only pages of the node
// binary and of its shared libraries and addons (native/binary_pages.cc).
// Startup touches far more of them than serving does: the dynamic symbol
// tables the linker read while binding libraries and addons, the parser and
// module-loader code, Node's JavaScript sources. Those pages stay in the page cache (shared with every other node
// process on the host); the proxy faults back the ones it uses (minor faults,
// once). The process's RSS then counts what it serves with, not what it
// started with: 1 worker, peak 66 -> ~50 MB, steady under load 64 -> 47 MB.
import { releaseBinaryPages, startPageReleaser, stopPageReleaser } from '../native.js';

export type StartupPages = 'release' | 'keep';

/** Takes the --startup-pages setting; returns kB of the binary's and libraries' pages released (0 with "keep" or where unsupported). */
export function releaseStartupPages(setting: StartupPages): number {
  if (setting !== 'release') return 0;
  try {
    return releaseBinaryPages();
  } catch {
    return 0; // no /proc (not Linux): nothing to release, nothing lost
  }
}

/**
 * How often the startup releaser runs (ms). The peak is reached inside the boot phases, not at their ends: two worker
 * threads booting at once mapped ~24 MB more of the binary than serving needs, within ~40 ms. Each round reads
 * /proc/self/smaps (~1.3 ms with two workers), so startup spends ~13% of one core on it, and nothing once serving.
 */
export const STARTUP_RELEASE_PERIOD_MS = 10;
/** A proxy that never gets ready (e.g. a control plane that never answers) stops paying for it after this long. */
export const STARTUP_RELEASE_LIMIT_MS = 60_000;

/** Takes the --startup-pages setting; with "release", starts a thread releasing the binary's pages every few ms until stopStartupReleaser; returns whether it started. */
export function startStartupReleaser(setting: StartupPages, periodMs = STARTUP_RELEASE_PERIOD_MS): boolean {
  if (setting !== 'release') return false;
  try {
    return startPageReleaser(periodMs, STARTUP_RELEASE_LIMIT_MS);
  } catch {
    return false; // an addon without it: the phase-end releases still run
  }
}

/** Takes nothing; stops the startup releaser (serving from here on); returns the rounds it ran (0 when none). */
export function stopStartupReleaser(): number {
  try {
    return stopPageReleaser();
  } catch {
    return 0;
  }
}
