// max_active_faults is counted per proxy: every worker's gate takes from one
// counter in the shared state, and a dead worker's slots are given back.
import { describe, expect, it } from 'vitest';
import { SharedActiveFaults } from '../../../workers/shared-state/active-faults.js';
import { HEADER, SharedState } from '../../../workers/shared-state/state-layout.js';

describe('SharedActiveFaults', () => {
  it('admits max faults over all workers together, and frees a slot on release', () => {
    const state = SharedState.create({ clusters: 1, endpoints: 1, workers: 2 });
    const w0 = new SharedActiveFaults(state, 0);
    const w1 = new SharedActiveFaults(state, 1);
    expect(w0.tryAcquire(2)).toBe(true);
    expect(w1.tryAcquire(2)).toBe(true);
    expect(w0.tryAcquire(2)).toBe(false);
    expect(w1.tryAcquire(2)).toBe(false);
    expect(w1.tryAcquire(null)).toBe(true); // a filter without a limit still counts
    expect(Atomics.load(state.ints, HEADER.ACTIVE_FAULTS)).toBe(3);
    w1.release();
    w0.release();
    expect(w1.tryAcquire(2)).toBe(true);
  });

  it('gives back what a crashed worker held', () => {
    const state = SharedState.create({ clusters: 2, endpoints: 2, workers: 2 });
    const w0 = new SharedActiveFaults(state, 0);
    const w1 = new SharedActiveFaults(state, 1);
    w0.tryAcquire(3);
    w1.tryAcquire(3);
    w1.tryAcquire(3);
    expect(w0.tryAcquire(3)).toBe(false);
    expect(state.releaseWorker(1)).toBe(2);
    expect(Atomics.load(state.ints, HEADER.ACTIVE_FAULTS)).toBe(1);
    expect(w0.tryAcquire(3)).toBe(true);
  });
});
