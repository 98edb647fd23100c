// glibc starts its trim and mmap thresholds at 128 kB and raises both after
// the first large block (an mmapped one) is freed: the mmap threshold to that
// block's size, the trim threshold to twice it. Node frees such a block early,
// so from then on an arena keeps up to megabytes of free memory resident:
// V8's optimizing compiler allocates 3-5 MB of zones per isolate in the first
// seconds under load and frees them, and that memory stayed counted in the
// proxy's RSS for good. `isthmus proxy` fixes both thresholds at glibc's
// starting values first thing (bin/isthmus.js), which ends the raising. With
// `--workers 2` under the bench's load: RSS after the warm-up 72.2 -> 66.5 MB,
// peak (VmHWM) 73.1 -> 70.2 (medians of 3 interleaved runs). A block of
// 128 kB or more gets a mapping of its own and is unmapped when freed (as
// before the first large free), which the request path does not allocate.
// An operator's MALLOC_TRIM_THRESHOLD_ / MALLOC_MMAP_THRESHOLD_ (or glibc
// tunable) wins: glibc read those at start.
import { setMallocThresholds } from '../native.js';

/** glibc's own starting value for both thresholds (DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_THRESHOLD_MIN * 1). */
export const MALLOC_TRIM_THRESHOLD_BYTES = 128 * 1024;
export const MALLOC_MMAP_THRESHOLD_BYTES = 128 * 1024;

const OPERATOR_SETTINGS = ['MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TOP_PAD_'] as const;

/** Takes the environment; fixes malloc's trim and mmap thresholds unless the operator set either; returns whether they were fixed. */
export function fixMallocThresholds(env: NodeJS.ProcessEnv = process.env): boolean {
  if (OPERATOR_SETTINGS.some((name) => env[name] !== undefined)) return false;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.includes('trim_threshold') || tunables.includes('mmap_threshold') || tunables.includes('top_pad')) return false;
  return setMallocThresholds(MALLOC_TRIM_THRESHOLD_BYTES, MALLOC_MMAP_THRESHOLD_BYTES);
}
