// Time a process's threads spent runnable but waiting for a CPU, from
// /proc/PID/task/TID/schedstat (fields: on-CPU ns, run-queue wait ns,
// timeslices). On a 2-core machine with five busy processes on the request
// path, a request that finds its proxy's thread waiting in the run queue
// waits with it: this says how much of that there was per 1000 requests.
import { readFileSync } from 'node:fs';
import { threadIds } from './process-sampler.js';

export interface SchedSample {
  readonly cpuNs: number;
  readonly waitNs: number;
  readonly slices: number;
  /** Per thread id: [on-CPU ns, wait ns] (a delta is taken over the threads in both samples). */
  readonly byThread: Map<string, readonly [number, number]>;
}

/** Sums schedstat over every thread of pid (threads that exited meanwhile drop out; null when the process is gone). */
export function sampleSched(pid: number): SchedSample | null {
  const tids = threadIds(pid);
  if (tids === null) return null;
  let cpuNs = 0;
  let waitNs = 0;
  let slices = 0;
  const byThread = new Map<string, readonly [number, number]>();
  for (const tid of tids) {
    try {
      const [cpu, wait, n] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
      cpuNs += cpu!;
      waitNs += wait!;
      slices += n!;
      byThread.set(tid, [cpu!, wait!]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { cpuNs, waitNs, slices, byThread };
}

/**
 * Run-queue wait and CPU (ms) per 1000 requests between two samples, over the threads in both (a thread that
 * ended meanwhile, or began, is left out: its counts would vanish or appear whole); null when either is missing.
 */
export function schedPer1k(before: SchedSample | null, after: SchedSample | null, requests: number): { waitMs: number; cpuMs: number } | null {
  if (before === null || after === null || requests <= 0) return null;
  let waitNs = 0;
  let cpuNs = 0;
  for (const [tid, [cpu, wait]] of after.byThread) {
    const old = before.byThread.get(tid);
    if (old === undefined) continue;
    cpuNs += cpu - old[0];
    waitNs += wait - old[1];
  }
  return { waitMs: (waitNs / 1e6) * (1000 / requests), cpuMs: (cpuNs / 1e6) * (1000 / requests) };
}

/** Times each thread of pid was put on a CPU (schedstat's third field), summed by thread name; {} when gone. */
export function slicesByThreadName(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  const tids = threadIds(pid);
  if (tids === null) return out;
  for (const tid of tids) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const slices = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ')[2]);
      out[name] = (out[name] ?? 0) + slices;
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}
