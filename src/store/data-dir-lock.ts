// One process per data directory: two proxies (or two control planes)
// writing into the same LMDB environment would serve each other's config.
// A pid file taken with O_EXCL guards it; a file left by a process that is
// gone is taken over.
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_FILE = 'owner.pid';

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
}

export interface DataDirLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data dir for this process, or throws DataDirInUseError naming the process that holds it. */
export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      let held = true;
      return {
        release() {
          if (!held) return;
          held = false;
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
      throw new DataDirInUseError(`data directory ${dir} is in use by process ${owner} (another isthmus proxy?); give each proxy its own --data-dir`);
    }
    rmSync(path, { force: true }); // stale: its process is gone
  }
  throw new DataDirInUseError(`data directory ${dir}: could not take ${LOCK_FILE}`);
}
