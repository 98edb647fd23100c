// Counts a process's glibc malloc arenas beyond the main one from
// /proc/PID/maps: each is a 64 MB-aligned, 64 MB mapping whose first part is
// read-write (the rest reserved).
import { readFileSync } from 'node:fs';

const HEAP = 64n * 1024n * 1024n;

/** Takes a pid ('self' for this process); returns how many non-main malloc arenas it has. */
export function countMallocArenas(pid: number | 'self'): number {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n').map((line) => {
    const [range, perm] = line.split(' ') as [string, string];
    const [a, b] = range.split('-').map((x) => BigInt(`0x${x}`)) as [bigint, bigint];
    return { a, b, perm };
  });
  let arenas = 0;
  for (let i = 0; i < maps.length; i++) {
    const start = maps[i]!.a;
    if (start % HEAP !== 0n || maps[i]!.perm !== 'rw-p') continue;
    let end = maps[i]!.b;
    for (let j = i + 1; j < maps.length && maps[j]!.a === end && end - start < HEAP; j++) end = maps[j]!.b;
    if (end - start === HEAP) arenas++;
  }
  return arenas;
}
