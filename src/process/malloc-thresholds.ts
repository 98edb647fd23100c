// glibc starts its trim threshold at 128 kB and raises it, with the mmap
// threshold, after the first large block (an mmapped one) is freed: the mmap
// threshold to that block's size, the trim threshold to twice it (up to 64
// MB). Node frees such a block early, so from then on an arena keeps up to
// megabytes of free memory resident: V8's optimizing compiler allocates 3-5
// MB of zones per isolate in the first seconds under load and frees them, and
// that memory stayed counted in the proxy's RSS for good. `isthmus proxy`
// fixes both first thing (bin/isthmus.js), which ends the raising, at 1 MB:
// free memory at the top of an arena beyond 1 MB goes back to the kernel, and
// a block of 1 MB or more gets a mapping of its own, unmapped when freed.
// Not glibc's starting 128 kB for either: with the mmap threshold there, every
// 256 kB Buffer was mapped and unmapped (taken, filled and dropped: 199 us of
// CPU against 9); with the trim threshold there, Node's own sockets (64 kB
// taken per read, then shrunk: --transport node) grew and trimmed the arena
// around each read (22.4 against 21.2 us per request, 3 runs; at 1 MB 22.2
// against 21.5, within this machine's noise). Not 32 MB, where glibc's raising
// stops: a freed 16 MB block in the middle of an arena then stayed resident.
// With `--workers 2` under the bench's load: RSS after the warm-up ~72 -> ~67
// MB, peak ~-1.7 MB (medians of interleaved runs). An operator's MALLOC_TRIM_THRESHOLD_ /
// MALLOC_MMAP_THRESHOLD_ / MALLOC_TOP_PAD_ (or glibc tunable) wins: glibc
// read those at start.
import { setMallocThresholds } from '../native.js';

/** Free memory at an arena's top beyond this goes back to the kernel (glibc starts at 128 kB and raises it up to 64 MB). */
export const MALLOC_TRIM_THRESHOLD_BYTES = 1024 * 1024;
/** Blocks from this size up get a mapping of their own (glibc starts at 128 kB and raises it up to 32 MB). */
export const MALLOC_MMAP_THRESHOLD_BYTES = 1024 * 1024;

const OPERATOR_SETTINGS = ['MALLOC_TRIM_THRESHOLD_', 'MALLOC_MMAP_THRESHOLD_', 'MALLOC_TOP_PAD_'] as const;

/** Takes the environment; fixes malloc's trim and mmap thresholds unless the operator set either; returns whether they were fixed. */
export function fixMallocThresholds(env: NodeJS.ProcessEnv = process.env): boolean {
  if (OPERATOR_SETTINGS.some((name) => env[name] !== undefined)) return false;
  const tunables = env.GLIBC_TUNABLES ?? '';
  if (tunables.includes('trim_threshold') || tunables.includes('mmap_threshold') || tunables.includes('top_pad')) return false;
  return setMallocThresholds(MALLOC_TRIM_THRESHOLD_BYTES, MALLOC_MMAP_THRESHOLD_BYTES);
}
