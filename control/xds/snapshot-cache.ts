// Snapshots by node id, and the streams watching them: go-control-plane's
// SnapshotCache reduced to what an ADS server needs. Setting a snapshot
// validates and encodes it (throwing ResourceError before anything is
// stored), then tells every stream of that node; each stream works out which
// types changed version and pushes only those.
import type { Snapshot } from './snapshot.js';

/** Called with the node's new snapshot; must not throw (a stream catches its own errors). */
export type SnapshotWatcher = (snapshot: Snapshot) => void;

export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly watchers = new Map<string, Set<SnapshotWatcher>>();

  /**
   * Stores `snapshot` for `nodeId` and notifies that node's streams.
   * Throws ResourceError (nothing stored, nothing pushed) when a resource is invalid.
   * Consistency is the caller's to check (`snapshot.consistent()`), as in go-control-plane.
   */
  setSnapshot(nodeId: string, snapshot: Snapshot): void {
    snapshot.encode(this.snapshots.get(nodeId));
    this.snapshots.set(nodeId, snapshot);
    const watchers = this.watchers.get(nodeId);
    if (watchers === undefined) return;
    for (const watcher of watchers) watcher(snapshot);
  }

  getSnapshot(nodeId: string): Snapshot | undefined {
    return this.snapshots.get(nodeId);
  }

  /** Forgets a node's snapshot; its streams keep what they were sent and receive nothing until the next set. */
  clearSnapshot(nodeId: string): void {
    this.snapshots.delete(nodeId);
  }

  nodeIds(): string[] {
    return [...this.snapshots.keys()];
  }

  /** Subscribes to a node's snapshot changes; returns the function that unsubscribes. */
  watch(nodeId: string, watcher: SnapshotWatcher): () => void {
    let set = this.watchers.get(nodeId);
    if (set === undefined) {
      set = new Set();
      this.watchers.set(nodeId, set);
    }
    set.add(watcher);
    return () => {
      const current = this.watchers.get(nodeId);
      if (current === undefined) return;
      current.delete(watcher);
      if (current.size === 0) this.watchers.delete(nodeId);
    };
  }

  watcherCount(nodeId: string): number {
    return this.watchers.get(nodeId)?.size ?? 0;
  }
}
