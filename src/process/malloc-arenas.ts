// With worker threads, glibc gives each thread that mallocs an arena of its
// own (up to 8 per core) and never lends one arena's free memory to another:
// every V8 isolate's C++ allocations keep their own high-water mark. Capped
// at 2, `--workers 2` peaked 93.4 MB instead of 98.3 under the bench's load
// (medians of 3 interleaved runs, same CPU per request). An operator's own
// MALLOC_ARENA_MAX (or glibc tunable) wins: glibc read it at start.
import { setMallocArenaMax } from '../native.js';

export const WORKER_MALLOC_ARENAS = 2;

/** Takes the environment; caps malloc arenas unless the operator set them; returns whether the cap was applied. */
export function capMallocArenas(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.MALLOC_ARENA_MAX !== undefined || (env.GLIBC_TUNABLES ?? '').includes('arena_max')) return false;
  return setMallocArenaMax(WORKER_MALLOC_ARENAS);
}
