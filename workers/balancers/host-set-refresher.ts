// Rebuilds host sets (and their balancers: Maglev tables, hash rings) when a
// cluster's health epoch moves, on the worker's own loop, never in the pick
// of the request that happens to notice. Until the new set is built picks use
// the old one, as Envoy's workers keep their host set until the main thread
// posts the update.
//
// Whoever moves an epoch (the agent's health checker and outlier sweeper, any
// worker's ejection) also moves the shared state's HEALTH_SIGNAL word and
// notifies it (signalHealthChange); each thread waits on that word with
// Atomics.waitAsync, so it wakes only when health changed. It used to poll
// every cluster's epoch every 20 ms: 50 wake-ups a second of an idle proxy,
// and at a fixed request rate each tick could land just before a request and
// delay it. A slow safety poll stays, for an epoch moved by anything that
// forgot to signal.
import { HEADER } from '../shared-state/state-layout.js';

/** What the refresher keeps current: a cluster's host set. */
export interface RefreshableHostSet {
  /** Rebuilds the host set if the health epoch moved since it was built; true when it did. */
  refreshHostSet(): boolean;
}

/**
 * Signalled rebuilds on one thread are at least this far apart (at most 50 a second, however fast health flaps);
 * a signalled thread rebuilds within it (tests that flip health wait a few of these).
 */
export const HOST_SET_REFRESH_MS = 20;
/** The safety poll: every cluster's epoch is looked at this often even without a signal. */
export const HOST_SET_SAFETY_POLL_MS = 1000;

/** Atomics.waitAsync (V8 since Node 16; the TypeScript lib here predates ES2024's type for it). */
type WaitAsyncResult = { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync(ints: Int32Array, index: number, value: number): WaitAsyncResult }).waitAsync;

export class HostSetRefresher {
  private readonly clusters = new Set<RefreshableHostSet>();
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** The shared state's words (HEADER.HEALTH_SIGNAL is waited on); null until watch(). */
  private signal: Int32Array | null = null;
  /**
   * The words a waitAsync is pending on (it cannot be cancelled: when it settles with no cluster left it is not
   * renewed; one pending on a state replaced by watch() is left to settle or not, and a new one is armed).
   */
  private waitingOn: Int32Array | null = null;
  /** The pending wait's continuation (kept reachable for as long as it is pending). */
  private pendingWait: Promise<void> | null = null;
  /** HEADER.HEALTH_SIGNAL as the last signalled rebuild read it (before rebuilding). */
  private seenSignal = 0;
  /** When the last signalled rebuild ran (performance.now()), and the timer of one held back until 20 ms after it. */
  private lastSignalledTick = -Infinity;
  private pacing: NodeJS.Timeout | null = null;
  /** Host sets rebuilt by the refresher (not by any request). */
  rebuilds = 0;
  /** Signals seen (health changes announced by any thread), for stats and tests. */
  signals = 0;

  constructor(private readonly safetyPollMs = HOST_SET_SAFETY_POLL_MS) {}

  /** Waits on `ints`' HEADER.HEALTH_SIGNAL (the proxy's shared state) from now on. */
  watch(ints: Int32Array): void {
    if (!(ints.buffer instanceof SharedArrayBuffer)) return;
    this.signal = ints;
    this.seenSignal = Atomics.load(ints, HEADER.HEALTH_SIGNAL);
    this.arm();
  }

  track(cluster: RefreshableHostSet): void {
    this.clusters.add(cluster);
    if (this.timer === null) {
      this.timer = setInterval(onSafetyPoll, this.safetyPollMs, this);
      this.timer.unref(); // a worker with clusters still exits when its work is done
    }
    this.arm();
  }

  untrack(cluster: RefreshableHostSet): void {
    this.clusters.delete(cluster);
    if (this.clusters.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** This thread just changed health (an outlier ejection): refresh once the current I/O callbacks are done. */
  soon(): void {
    if (this.immediate !== null || this.clusters.size === 0) return;
    this.immediate = setImmediate(onSoon, this);
    this.immediate.unref();
  }

  /** Rebuilds every host set whose epoch moved; returns how many were rebuilt. */
  tick(): number {
    let n = 0;
    for (const cluster of this.clusters) if (cluster.refreshHostSet()) n++;
    this.rebuilds += n;
    return n;
  }

  /**
   * Waits for the signal to move past the value the last signalled rebuild saw (so a change made while no wait was
   * pending is not missed) unless a wait is pending (a pending waitAsync keeps no thread alive).
   */
  private arm(): void {
    const ints = this.signal;
    if (ints === null || this.waitingOn === ints || this.clusters.size === 0 || this.pacing !== null) return;
    const result = waitAsync(ints, HEADER.HEALTH_SIGNAL, this.seenSignal);
    if (!result.async) {
      this.onSignal(null);
      return;
    }
    this.waitingOn = ints;
    // Held: V8 keeps a pending waitAsync's promise only weakly, and one collected by a GC is never settled.
    this.pendingWait = result.value.then(() => this.onSignal(ints));
  }

  /**
   * A signal arrived: rebuild now, or once HOST_SET_REFRESH_MS has passed since the last signalled rebuild, so a
   * flapping cluster (or a peer provoking ejections) costs at most one rebuild per thread every 20 ms, as the old
   * poll did, while an idle proxy never wakes.
   */
  private onSignal(from: Int32Array | null): void {
    if (from !== null && this.waitingOn === from) {
      this.waitingOn = null;
      this.pendingWait = null;
    }
    this.signals++;
    if (this.pacing !== null) return;
    const wait = this.lastSignalledTick + HOST_SET_REFRESH_MS - performance.now();
    if (wait <= 0) {
      this.signalledTick();
      return;
    }
    this.pacing = setTimeout(onPaced, wait, this);
    this.pacing.unref();
  }

  /** @internal the paced rebuild of onSignal. */
  signalledTick(): void {
    this.pacing = null;
    if (this.signal !== null) this.seenSignal = Atomics.load(this.signal, HEADER.HEALTH_SIGNAL);
    this.lastSignalledTick = performance.now();
    this.tick();
    this.arm();
  }

  /** @internal the setImmediate of soon(). */
  runSoon(): void {
    this.immediate = null;
    this.tick();
  }
}

function onPaced(r: HostSetRefresher): void {
  r.signalledTick();
}

function onSafetyPoll(r: HostSetRefresher): void {
  r.tick();
}

function onSoon(r: HostSetRefresher): void {
  r.runSoon();
}

/** The worker's refresher (one per thread: module state is per isolate). */
export const hostSetRefresher = new HostSetRefresher();
