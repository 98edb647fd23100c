// The refresher rebuilds a thread's host sets when another thread signals a
// health change through the shared state (Atomics.notify), not on a polling
// timer: the safety poll here is an hour, so only the signal can explain a
// prompt rebuild; a thread that signals itself is served too.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HOST_SET_REFRESH_MS, HostSetRefresher, type RefreshableHostSet } from '../../../workers/balancers/host-set-refresher.js';
import { CLUSTER, HEADER, SharedState, signalHealthChange } from '../../../workers/shared-state/state-layout.js';

/** A host set that counts rebuilds when cluster slot 0's epoch moved. */
class EpochWatcher implements RefreshableHostSet {
  built = -1;
  rebuilt = 0;
  constructor(private readonly state: SharedState) {
    this.built = this.epoch();
  }
  epoch(): number {
    return Atomics.load(this.state.ints, this.state.clusterBase(0) + CLUSTER.HEALTH_EPOCH);
  }
  refreshHostSet(): boolean {
    const e = this.epoch();
    if (e === this.built) return false;
    this.built = e;
    this.rebuilt++;
    return true;
  }
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('HostSetRefresher', () => {
  it('rebuilds when another thread signals a health change, with no polling timer', async () => {
    const state = SharedState.create({ clusters: 2, endpoints: 4, workers: 1 });
    const refresher = new HostSetRefresher(3_600_000);
    const hostSet = new EpochWatcher(state);
    refresher.track(hostSet);
    refresher.watch(state.ints);
    // Another thread (as the agent's health checker or another worker's ejection) moves the epoch and signals.
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       Atomics.add(workerData.ints, workerData.epochAt, 1);
       Atomics.add(workerData.ints, workerData.signalAt, 1);
       Atomics.notify(workerData.ints, workerData.signalAt);`,
      { eval: true, workerData: { ints: state.ints, epochAt: state.clusterBase(0) + CLUSTER.HEALTH_EPOCH, signalAt: HEADER.HEALTH_SIGNAL } },
    );
    await new Promise((r) => worker.once('exit', r));
    await until('the rebuild', () => hostSet.rebuilt === 1);
    expect(refresher.signals).toBeGreaterThanOrEqual(1);
    // It waits again: a second change on this thread is picked up too.
    Atomics.add(state.ints, state.clusterBase(0) + CLUSTER.HEALTH_EPOCH, 1);
    signalHealthChange(state.ints);
    await until('the second rebuild', () => hostSet.rebuilt === 2);
    refresher.untrack(hostSet);
  });

  it('follows a new shared state (a data plane made again on this thread): a wait left on the old one does not block it', async () => {
    const old = SharedState.create({ clusters: 1, endpoints: 1, workers: 1 });
    const state = SharedState.create({ clusters: 1, endpoints: 1, workers: 1 });
    const refresher = new HostSetRefresher(3_600_000);
    const hostSet = new EpochWatcher(state);
    refresher.track(hostSet);
    refresher.watch(old.ints);
    refresher.watch(state.ints);
    Atomics.add(state.ints, state.clusterBase(0) + CLUSTER.HEALTH_EPOCH, 1);
    signalHealthChange(state.ints);
    await until('the rebuild', () => hostSet.rebuilt === 1, 1000);
    refresher.untrack(hostSet);
  });

  it('rebuilds at most once every HOST_SET_REFRESH_MS however fast health flaps, and ends on the last state', async () => {
    const state = SharedState.create({ clusters: 1, endpoints: 1, workers: 1 });
    const refresher = new HostSetRefresher(3_600_000);
    const hostSet = new EpochWatcher(state);
    refresher.track(hostSet);
    refresher.watch(state.ints);
    const started = performance.now();
    // 300 health changes, one every ~0.5 ms, from another thread (a flapping endpoint, or a peer provoking ejections).
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       const sleep = new Int32Array(new SharedArrayBuffer(4));
       for (let i = 0; i < 300; i++) {
         Atomics.add(workerData.ints, workerData.epochAt, 1);
         Atomics.add(workerData.ints, workerData.signalAt, 1);
         Atomics.notify(workerData.ints, workerData.signalAt);
         Atomics.wait(sleep, 0, 0, 0.5);
       }`,
      { eval: true, workerData: { ints: state.ints, epochAt: state.clusterBase(0) + CLUSTER.HEALTH_EPOCH, signalAt: HEADER.HEALTH_SIGNAL } },
    );
    await new Promise((r) => worker.once('exit', r));
    await until('the last state', () => hostSet.built === hostSet.epoch());
    const elapsed = performance.now() - started;
    expect(hostSet.rebuilt).toBeGreaterThanOrEqual(1);
    expect(hostSet.rebuilt).toBeLessThanOrEqual(Math.ceil(elapsed / HOST_SET_REFRESH_MS) + 2);
    expect(hostSet.rebuilt).toBeLessThan(300);
    refresher.untrack(hostSet);
  });

  it('ignores a signal on records that are not the shared state (a cluster on private records)', () => {
    const own = new Int32Array(64);
    own[6] = 41;
    signalHealthChange(own);
    expect(own[6]).toBe(41);
  });
});
