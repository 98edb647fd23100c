// Coalesces bursts of config and registry changes into one push, as istiod
// does: a push waits until changes have been quiet for `quietMs`, but never
// longer than `maxDelayMs` after the first change of the burst, so a steady
// trickle of changes cannot starve proxies of updates.
import { Debouncer, type DebounceTimers } from '../../src/watch/debouncer.js';

export interface PushDebouncerOptions {
  /** Quiet time after the last change (istiod's PILOT_DEBOUNCE_AFTER, 100 ms). */
  readonly quietMs: number;
  /** Longest a change may wait (istiod's PILOT_DEBOUNCE_MAX, 10 s there; 1 s here). */
  readonly maxDelayMs: number;
}

/** The clock and timer the debouncer uses; tests give it a fake one. */
export type Timers = DebounceTimers;

/** Real timers, not unref'd: a pending push is work the control plane still owes its proxies. */
export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** What one push carries: the union of everything that changed since the last one. */
export interface PendingChanges<K> {
  /** Keys that changed (for example `endpoints:reviews.default.svc.cluster.local`). */
  readonly keys: ReadonlySet<K>;
  /** Time of the first change of the burst, for convergence metrics. */
  readonly firstChangeAt: number;
  /** How many change notifications were merged into this push. */
  readonly merged: number;
}

export class PushDebouncer<K> {
  private keys = new Set<K>();
  private firstChangeAt = 0;
  private merged = 0;
  private stopped = false;
  /** The timing (quiet time, max delay) is the file watchers' rule, shared. */
  private readonly debouncer: Debouncer;

  constructor(
    options: PushDebouncerOptions,
    private readonly push: (changes: PendingChanges<K>) => void,
    private readonly timers: Timers = realTimers,
  ) {
    this.debouncer = new Debouncer({ quietMs: options.quietMs, maxWaitMs: options.maxDelayMs }, () => this.flush(), timers);
  }

  /** Records changed keys; the push happens after the quiet time, or at the max delay. */
  changed(keys: Iterable<K>): void {
    if (this.stopped) return;
    if (this.merged === 0) this.firstChangeAt = this.timers.now();
    for (const k of keys) this.keys.add(k);
    this.merged++;
    this.debouncer.event();
  }

  /** Pushes whatever is pending now (shutdown, tests). */
  flush(): void {
    this.debouncer.cancel();
    if (this.merged === 0) return;
    const changes: PendingChanges<K> = { keys: this.keys, firstChangeAt: this.firstChangeAt, merged: this.merged };
    this.keys = new Set();
    this.merged = 0;
    this.push(changes);
  }

  /** Drops pending changes and ignores later ones. */
  stop(): void {
    this.stopped = true;
    this.debouncer.stop();
  }
}
