// Rebuilds host sets (and their balancers: Maglev tables, hash rings) when a
// cluster's health epoch moves, on a timer of the worker's own loop, never in
// the pick of the request that happens to notice. Until the new set is built
// picks use the old one, as Envoy's workers keep their host set until the
// main thread posts the update. A tick costs one atomic load per cluster.

/** What the refresher keeps current: a cluster's host set. */
export interface RefreshableHostSet {
  /** Rebuilds the host set if the health epoch moved since it was built; true when it did. */
  refreshHostSet(): boolean;
}

/** How often a worker looks at its clusters' health epochs. */
export const HOST_SET_REFRESH_MS = 20;

export class HostSetRefresher {
  private readonly clusters = new Set<RefreshableHostSet>();
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  /** Host sets rebuilt by the refresher (not by any request). */
  rebuilds = 0;

  constructor(private readonly intervalMs = HOST_SET_REFRESH_MS) {}

  track(cluster: RefreshableHostSet): void {
    this.clusters.add(cluster);
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref(); // a worker with clusters still exits when its work is done
    }
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
    this.immediate = setImmediate(() => {
      this.immediate = null;
      this.tick();
    });
    this.immediate.unref();
  }

  /** Rebuilds every host set whose epoch moved; returns how many were rebuilt. */
  tick(): number {
    let n = 0;
    for (const cluster of this.clusters) if (cluster.refreshHostSet()) n++;
    this.rebuilds += n;
    return n;
  }
}

/** The worker's refresher (one per thread: module state is per isolate). */
export const hostSetRefresher = new HostSetRefresher();
