// The proxy-wide limit on open downstream connections (`--max-connections`,
// Envoy's overload manager `global_downstream_max_connections`): one count
// in shared memory that every worker takes from at accept and gives back on
// close, so the limit holds however the kernel spreads connections.
// Each worker also keeps its own share in its slot, so a restarted worker
// can give back what its crashed predecessor held.

/** Int32 slots: [0] connections open in the whole proxy, then one per worker id. */
export function createConnectionCounts(workers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * (1 + workers));
}

export class ConnectionLimit {
  private readonly counts: Int32Array;
  private readonly slot: number;

  /** max: 0 means no limit (connections are still counted). */
  constructor(buffer: SharedArrayBuffer, workerId: number, private readonly max: number) {
    this.counts = new Int32Array(buffer);
    this.slot = 1 + workerId;
    // A new thread for this worker id: the previous one's connections died with it.
    const stale = Atomics.exchange(this.counts, this.slot, 0);
    if (stale !== 0) Atomics.sub(this.counts, 0, stale);
  }

  /** Takes one connection from the limit; false (nothing taken) when the proxy is at the limit. */
  tryAcquire(): boolean {
    const before = Atomics.add(this.counts, 0, 1);
    if (this.max > 0 && before >= this.max) {
      Atomics.sub(this.counts, 0, 1);
      return false;
    }
    Atomics.add(this.counts, this.slot, 1);
    return true;
  }

  release(): void {
    Atomics.sub(this.counts, this.slot, 1);
    Atomics.sub(this.counts, 0, 1);
  }

  /** Open connections in the whole proxy. */
  get open(): number {
    return Atomics.load(this.counts, 0);
  }
}
