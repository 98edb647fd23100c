// `npm run bench:mixer -- --pin`: the server under test on one CPU, the load
// clients on another, so that on a 2-core machine the client's CPU is not
// taken from the control plane's (or the reverse). Uses taskset(1) from
// util-linux on every thread of each process (-a); children started later
// (h2load, started by this process) inherit this process's CPU.
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

export type Pinning = { readonly serverCpu: number; readonly clientCpu: number } | { readonly refused: string };

/** takes the server's pid and the client process's pid; returns the CPUs they now run on, or why they were not pinned. */
export function pinProcesses(serverPid: number, clientPid: number, cpuCount = cpus().length): Pinning {
  if (cpuCount < 2) return { refused: `--pin needs 2 CPUs, this machine has ${cpuCount}` };
  for (const [pid, cpu] of [[serverPid, 0], [clientPid, 1]] as const) {
    const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
    if (r.error !== undefined) return { refused: `--pin: taskset could not run (${r.error.message}; Debian: util-linux)` };
    if (r.status !== 0) return { refused: `--pin: taskset -a -p -c ${cpu} ${pid} failed: ${r.stderr.trim()}` };
  }
  return { serverCpu: 0, clientCpu: 1 };
}

/** takes a pid and a CPU (or a taskset list, e.g. `0-1`); moves every thread of that process there; returns what the bench prints about it. */
export function pinProcessTo(pid: number, cpu: number | string, cpuCount = cpus().length): string {
  if (cpuCount < 2) return `not pinned: --pin needs 2 CPUs, this machine has ${cpuCount}`;
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  if (r.error !== undefined) return `not pinned: taskset could not run (${r.error.message}; Debian: util-linux)`;
  if (r.status !== 0) return `not pinned: taskset -a -p -c ${cpu} ${pid} failed: ${r.stderr.trim()}`;
  return `pinned to CPU ${cpu}`;
}

/** takes pinProcesses' answer (null: --pin not given); returns the line the bench prints about it. */
export function pinText(p: Pinning | null): string {
  if (p === null) return 'not pinned (--pin: server on CPU 0, clients on CPU 1)';
  if ('refused' in p) return `not pinned: ${p.refused}`;
  return `pinned: server on CPU ${p.serverCpu}, this process and h2load on CPU ${p.clientCpu}`;
}
