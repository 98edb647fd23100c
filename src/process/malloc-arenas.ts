// glibc gives each thread that mallocs an arena of its own (up to 8 per core)
// and never lends one arena's free memory to another, so every thread keeps
// its own high-water mark: V8's four platform threads (background compiles,
// concurrent marking) and, with --workers N >= 2, each worker isolate.
// `isthmus proxy` caps them at 2 first thing (bin/isthmus.js), before any
// thread has taken one: peak RSS under the bench's load 98.1 -> 94.8 MB with
// two workers, 67.7 -> 66.3 with one (medians of 3 interleaved runs, same CPU
// per request; capped later, at agent start, it saved only 1 MB). An
// operator's own MALLOC_ARENA_MAX (or glibc tunable) wins: glibc read it at start.
import { setMallocArenaMax } from '../native.js';

export const WORKER_MALLOC_ARENAS = 2;

/** Takes the environment; caps malloc arenas unless the operator set them; returns whether the cap was applied. */
export function capMallocArenas(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MALLOC_ARENA_MAX !== undefined || (env.GLIBC_TUNABLES ?? '').includes('arena_max')) return false;
  return setMallocArenaMax(WORKER_MALLOC_ARENAS);
}
