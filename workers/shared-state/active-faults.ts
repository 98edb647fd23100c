// max_active_faults counted per proxy, as the README says: one counter in the
// shared state's header that every worker takes a slot from with a
// compare-and-swap (so N workers cannot each admit `max`), plus this
// worker's own holding, so the agent can give back what a crashed worker held.
import { HEADER, type SharedState } from './state-layout.js';

/** Where a fault filter takes and gives back its active-fault slots. */
export interface ActiveFaultGate {
  /** Takes a slot unless `max` (null: unlimited) are taken already. */
  tryAcquire(max: number | null): boolean;
  release(): void;
}

/** The proxy-wide gate over the shared state. */
export class SharedActiveFaults implements ActiveFaultGate {
  private readonly ints: Int32Array;
  private readonly holdingAt: number;

  constructor(state: SharedState, workerId: number) {
    this.ints = state.ints;
    this.holdingAt = state.faultHoldingAt(workerId);
  }

  tryAcquire(max: number | null): boolean {
    const ints = this.ints;
    for (;;) {
      const now = Atomics.load(ints, HEADER.ACTIVE_FAULTS);
      if (max !== null && now >= max) return false;
      if (Atomics.compareExchange(ints, HEADER.ACTIVE_FAULTS, now, now + 1) === now) break;
    }
    Atomics.add(ints, this.holdingAt, 1);
    return true;
  }

  release(): void {
    Atomics.sub(this.ints, HEADER.ACTIVE_FAULTS, 1);
    Atomics.sub(this.ints, this.holdingAt, 1);
  }
}

/** A gate of this thread only (unit tests, a worker built without shared state). */
export class LocalActiveFaults implements ActiveFaultGate {
  active = 0;

  tryAcquire(max: number | null): boolean {
    if (max !== null && this.active >= max) return false;
    this.active++;
    return true;
  }

  release(): void {
    this.active--;
  }
}
