// `--rt` (bench fixed-rate runs, mesh-rate-probe): for the measured window,
// every process on the request path runs SCHED_FIFO (chrt), so the other load
// of a shared machine cannot preempt it and what the percentiles show is the
// path's own. Fixed rate only: the path then takes a fraction of a core (about
// a third at 1000 req/s for the mesh), where a closed loop at full speed would
// take the machine (the kernel's RT throttling would still leave it 5%).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { threadIds } from './process-sampler.js';

/** The SCHED_FIFO priority used: low among real-time ones (1-99), above every normal process. */
export const RT_PRIORITY = 10;

/** Every thread of pid to SCHED_FIFO (on) or back to SCHED_OTHER (off); throws with chrt's reason when refused. */
export function setRealtime(pid: number, on: boolean): void {
  const args = on ? ['-a', '-f', '-p', String(RT_PRIORITY), String(pid)] : ['-a', '-o', '-p', '0', String(pid)];
  const r = spawnSync('chrt', args, { encoding: 'utf8' });
  if (r.error !== undefined) throw new Error(`--rt: chrt could not run (${r.error.message}; Debian: util-linux)`);
  if (r.status !== 0) throw new Error(`--rt: chrt ${args.join(' ')} failed (needs root or CAP_SYS_NICE): ${r.stderr.trim()}`);
}

/** pid and its descendants (nginx's workers are the master's children), from /proc's children lists. */
export function withDescendants(pid: number, limit = 256): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < limit) {
    const p = queue.shift()!;
    out.push(p);
    const tids = threadIds(p);
    if (tids === null) continue;
    for (const tid of tids) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c !== '') queue.push(Number(c));
      } catch {
        // the thread ended meanwhile
      }
    }
  }
  return out;
}

/** Whether some thread of pid runs SCHED_FIFO (policy 1, field 41 of /proc/PID/task/TID/stat); false once gone. */
function anyThreadFifo(pid: number): boolean {
  const tids = threadIds(pid);
  if (tids === null) return false;
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3] === '1') return true;
    } catch {
      // the thread ended meanwhile
    }
  }
  return false;
}

/**
 * Puts pids and their descendants real-time for a window; end() puts back every one that was changed (a
 * process gone meanwhile is skipped), and every descendant started during the window: a process forked by a
 * real-time parent inherits SCHED_FIFO (a worker respawned, a reload's new workers), and left so it would run
 * real-time through the closed-loop runs that follow, and after the bench when it is not one the bench stops.
 */
export function realtimeWindow(pids: readonly number[]): { end(): void } {
  const changed: number[] = [];
  const roots = [...new Set(pids)];
  try {
    for (const pid of new Set(pids)) {
      setRealtime(pid, true);
      changed.push(pid);
    }
    // Descendants best-effort: one may exit between the listing and chrt.
    for (const pid of new Set(pids.flatMap((p) => withDescendants(p).slice(1)))) {
      if (changed.includes(pid)) continue;
      try {
        setRealtime(pid, true);
        changed.push(pid);
      } catch {
        // gone
      }
    }
  } catch (err) {
    for (const pid of changed) restore(pid);
    throw err;
  }
  return {
    end: () => {
      // The roots first: a child forked after the walk below then starts SCHED_OTHER.
      for (const pid of changed) restore(pid);
      for (const pid of new Set(roots.flatMap((p) => withDescendants(p).slice(1)))) {
        if (!changed.includes(pid) && anyThreadFifo(pid)) restore(pid);
      }
    },
  };
}

function restore(pid: number): void {
  try {
    setRealtime(pid, false);
  } catch {
    // the process has exited: nothing to put back
  }
}
