// Wakes an open-loop client's event loop at a time it asks for, to within a
// fraction of a millisecond, while requests are in flight (setTimeout cannot:
// it fires on whole milliseconds, and its lag would be charged to the request
// it sends). Unlike open-loop-pacer.ts, which wakes at every intended send
// time, it only wakes when armed, and arming rarely costs a system call: a
// client that re-arms at each send for the next one finds the thread asleep
// until the previous time, and the thread re-reads the target when it wakes
// (about one wake-up of this thread per send, where notifying each arming and
// disarming would cost three).
import { Worker } from 'node:worker_threads';

const STOP = 0;
/** Bumped by every arming (a full fence between writing the target and reading STATE). */
const SEQ = 1;
/** The thread: 0 awake, 1 asleep until sleepingUntil, 2 asleep until notified. */
const STATE = 2;

/** The waking thread (plain JS: eval'd, no build step). Times are absolute (timeOrigin + now) across threads. */
const WAKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { flags, target, sleepingUntil } = workerData;
const now = () => performance.timeOrigin + performance.now();
let fired = 0;
const sleep = (seq, state, ms) => {
  Atomics.store(flags, ${STATE}, state);
  // An arming between reading seq and publishing the state: look again instead of sleeping through it.
  if (Atomics.load(flags, ${SEQ}) === seq) Atomics.wait(flags, ${SEQ}, seq, ms);
  Atomics.store(flags, ${STATE}, 0);
};
while (Atomics.load(flags, ${STOP}) === 0) {
  const seq = Atomics.load(flags, ${SEQ});
  const at = target[0];
  if (at === 0 || at === fired) { sleep(seq, 2, Infinity); continue; }
  const wait = at - now();
  if (wait > 0.01) { sleepingUntil[0] = at; sleep(seq, 1, wait); continue; }
  fired = at;
  parentPort.postMessage(0);
}
`;

export class WakeAt {
  private readonly flags = new Int32Array(new SharedArrayBuffer(12));
  private readonly target = new Float64Array(new SharedArrayBuffer(8));
  private readonly sleepingUntil = new Float64Array(new SharedArrayBuffer(8));
  private readonly worker: Worker;
  /** Resolves once the thread runs its loop (a thread takes tens of ms to start: arm only counts after this). */
  readonly ready: Promise<void>;

  /** onWake runs on this thread's loop when an armed time is reached (it may find nothing due: it then re-arms). */
  constructor(onWake: () => void) {
    this.worker = new Worker(WAKER_SOURCE, { eval: true, workerData: { flags: this.flags, target: this.target, sleepingUntil: this.sleepingUntil } });
    // Never left pending: a thread that failed to start must not hold the load's start forever.
    this.ready = new Promise((resolve) => {
      this.worker.once('online', () => resolve());
      this.worker.once('error', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.on('message', onWake);
    this.worker.unref();
  }

  /** Wake the loop at atMs (performance.now() clock of this thread); replaces an earlier arming. */
  arm(atMs: number): void {
    const at = performance.timeOrigin + atMs;
    this.target[0] = at;
    Atomics.add(this.flags, SEQ, 1);
    const state = Atomics.load(this.flags, STATE);
    if (state === 2 || (state === 1 && at < this.sleepingUntil[0]!)) Atomics.notify(this.flags, SEQ);
  }

  /** No wake-up until armed again (the thread finds the target cleared when it next looks). */
  disarm(): void {
    this.target[0] = 0;
  }

  /** Stops the thread (idempotent). */
  stop(): Promise<number> {
    Atomics.store(this.flags, STOP, 1);
    Atomics.add(this.flags, SEQ, 1);
    Atomics.notify(this.flags, SEQ);
    return this.worker.terminate();
  }
}
