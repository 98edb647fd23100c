// CPU time and peak memory of a process and its descendants, read from /proc:
// /proc/<pid>/stat fields 14-15 (utime, stime: every thread of the process) and
// /proc/<pid>/status VmHWM (peak resident set). Descendants matter for peers
// such as nginx (master + worker); a single-process target is just itself.
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export interface ProcessUsage {
  /** user + system CPU seconds consumed so far by the process tree. */
  readonly cpuSeconds: number;
  /** Sum of each process's peak RSS (VmHWM), MB. */
  readonly peakRssMb: number;
}

let clockTicks = 0;

/** The thread ids of pid (/proc/PID/task), or null once the process is gone. */
export function threadIds(pid: number): string[] | null {
  try {
    return readdirSync(`/proc/${pid}/task`);
  } catch {
    return null;
  }
}

/** Clock ticks per second for /proc/<pid>/stat times (CLK_TCK, almost always 100). */
export function clockTicksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Takes the text of /proc/<pid>/stat; returns [ppid, utime + stime in ticks]. */
export function parseProcStat(text: string): { ppid: number; cpuTicks: number } {
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); field n is rest[n - 3].
  const ppid = Number(rest[1]);
  const cpuTicks = Number(rest[11]) + Number(rest[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(cpuTicks)) throw new Error(`unexpected /proc stat line: ${text.slice(0, 80)}`);
  return { ppid, cpuTicks };
}

/** Takes the text of /proc/<pid>/status; returns VmHWM in kB (0 when absent, e.g. a zombie). */
export function parseVmHwmKb(text: string): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(text);
  return m === null ? 0 : Number(m[1]);
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null; // the process exited between listing and reading
  }
}

/** The pid and all its live descendants. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readOrNull(`/proc/${name}/stat`);
    if (stat === null) continue;
    const { ppid } = parseProcStat(stat);
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [Number(name)]);
    else list.push(Number(name));
  }
  const tree: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    tree.push(pid);
    for (const child of children.get(pid) ?? []) stack.push(child);
  }
  return tree;
}

/** Reads the usage of a process tree now; throws when the root process is gone. */
export function sampleProcess(rootPid: number): ProcessUsage {
  if (readOrNull(`/proc/${rootPid}/stat`) === null) throw new Error(`process ${rootPid} is not running`);
  let ticks = 0;
  let hwmKb = 0;
  for (const pid of processTree(rootPid)) {
    const stat = readOrNull(`/proc/${pid}/stat`);
    const status = readOrNull(`/proc/${pid}/status`);
    if (stat === null || status === null) continue;
    ticks += parseProcStat(stat).cpuTicks;
    hwmKb += parseVmHwmKb(status);
  }
  return { cpuSeconds: ticks / clockTicksPerSecond(), peakRssMb: Math.round((hwmKb / 1024) * 10) / 10 };
}

/** CPU seconds per 1000 requests between two samples (null when nothing completed). */
export function cpuSecondsPer1k(before: ProcessUsage, after: ProcessUsage, requests: number): number | null {
  if (requests <= 0) return null;
  return Math.round(((after.cpuSeconds - before.cpuSeconds) / requests) * 1000 * 10000) / 10000;
}
