// Wakes an open-loop client on Node when its next request is due. setTimeout
// cannot wake a loop more often than once a millisecond: at 5000/s requests
// would leave in bursts of five and, timed from their intended send times as
// an open-loop client must (open-loop-schedule.ts), the first of each burst
// is charged up to 1 ms of waiting on the client's own timer, which is the
// size of the figure being measured. A sidecar sends a Check when a request
// arrives (a socket wakes its loop), not on a timer: here a small thread
// sleeps in Atomics.wait (sub-millisecond) until the next intended time and
// wakes the client's loop with one message. At most one message is
// outstanding: a client that is late finds all due requests on its next tick.
import { Worker } from 'node:worker_threads';
import type { OpenLoopSchedule } from './open-loop-schedule.js';

/** The pacing thread (plain JS: eval'd, no build step). Times are absolute (timeOrigin + now) across threads. */
const PACER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { flags, startAbs, intervalMs, total } = workerData;
const now = () => performance.timeOrigin + performance.now();
let i = 0;
while (Atomics.load(flags, 0) === 0 && i < total) {
  const due = startAbs + i * intervalMs;
  const wait = due - now();
  if (wait > 0.02) { Atomics.wait(flags, 0, 0, wait); continue; }
  i = Math.min(total, Math.floor((now() - startAbs) / intervalMs) + 1);
  // One wake-up in flight at a time: the client reads every due request when it runs.
  if (Atomics.compareExchange(flags, 1, 0, 1) === 0) parentPort.postMessage(i);
}
`;

export class OpenLoopPacer {
  private readonly flags = new Int32Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;

  /** takes the schedule (its startMs on this thread's performance.now() clock) and the client's tick; starts pacing. */
  constructor(schedule: OpenLoopSchedule, onDue: () => void) {
    this.worker = new Worker(PACER_SOURCE, {
      eval: true,
      workerData: { flags: this.flags, startAbs: performance.timeOrigin + schedule.startMs, intervalMs: schedule.intervalMs, total: schedule.total },
    });
    this.worker.on('message', () => {
      Atomics.store(this.flags, 1, 0);
      onDue();
    });
    this.worker.unref();
  }

  /** Stops the thread (idempotent). */
  stop(): Promise<number> {
    Atomics.store(this.flags, 0, 1);
    Atomics.notify(this.flags, 0);
    return this.worker.terminate();
  }
}
