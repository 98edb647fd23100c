// Coalesces a burst of change events into one run: the run happens once
// events have been quiet for `quietMs`, but never later than `maxWaitMs`
// after the first event of the burst, so a file rewritten without pause
// (or a busy neighbour in a watched folder) cannot starve a reload. The same
// rule as the control plane's push debouncer (istiod's DEBOUNCE_AFTER/MAX).

export interface DebounceTiming {
  /** Quiet time after the last event. */
  readonly quietMs: number;
  /** Longest the first event of a burst waits. */
  readonly maxWaitMs: number;
}

/** File reloads: 100 ms of quiet, 1 s at most. */
export const RELOAD_DEBOUNCE: DebounceTiming = Object.freeze({ quietMs: 100, maxWaitMs: 1000 });

/** The clock and timer the debouncer uses; unit tests give it a fake one. */
export interface DebounceTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: DebounceTimers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref(); // a pending reload never keeps a process alive
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class Debouncer {
  private timer: unknown = null;
  private firstEventAt = 0;
  private stopped = false;

  constructor(
    private readonly timing: DebounceTiming,
    private readonly run: () => void,
    private readonly timers: DebounceTimers = realTimers,
  ) {
    if (!(timing.quietMs >= 0) || !(timing.maxWaitMs >= timing.quietMs)) {
      throw new RangeError(`debounce: need 0 <= quietMs (${timing.quietMs}) <= maxWaitMs (${timing.maxWaitMs})`);
    }
  }

  /** Whether a run is scheduled. */
  get pending(): boolean {
    return this.timer !== null;
  }

  /** Records an event: the run comes after the quiet time, or at the burst's max wait. */
  event(): void {
    if (this.stopped) return;
    const now = this.timers.now();
    if (this.timer === null) this.firstEventAt = now;
    else this.timers.clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.timing.quietMs, this.firstEventAt + this.timing.maxWaitMs - now));
    this.timer = this.timers.setTimeout(() => this.fire(), wait);
  }

  /** Drops a scheduled run; later events schedule anew. */
  cancel(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  /** Drops a scheduled run and ignores later events. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.timer = null;
    if (!this.stopped) this.run();
  }
}
