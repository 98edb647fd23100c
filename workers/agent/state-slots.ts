// Which record of the shared state belongs to which cluster (by name) and
// endpoint (by cluster, address and port). The agent assigns slots when it
// writes a config version and stores them in the config (Cluster.stateSlot,
// Endpoint.stateSlot), so workers find their records without a lookup.
// A slot stays with its cluster or endpoint across versions while it exists
// (counters and ejections survive reloads); a freed slot waits out a
// quarantine (workers may still run the old version for a moment) and is
// zeroed before it is given to something new.
import type { Bootstrap, Cluster, Endpoint } from '../../src/config/bootstrap-types.js';
import type { SharedState } from '../shared-state/state-layout.js';

/** How long a freed slot stays unused: longer than any worker takes to apply a version and finish its requests on the old one. */
export const SLOT_QUARANTINE_MS = 60_000;

interface Quarantined {
  readonly slot: number;
  readonly until: number;
}

/** One kind of slot (cluster or endpoint): keys to slots, free slots, quarantined slots. */
class SlotTable {
  used = new Map<string, number>();
  free: number[] = [];
  next = 0;
  readonly quarantine: Quarantined[] = [];

  constructor(
    readonly capacity: number,
    readonly what: string,
    readonly option: string,
  ) {}

  /** Quarantined slots whose time is up become free. */
  expire(now: number): void {
    while (this.quarantine.length > 0 && this.quarantine[0]!.until <= now) this.free.push(this.quarantine.shift()!.slot);
  }
}

/** The outcome of assign(): the config with its slots, applied to the tables by commit() once the version is written. */
export interface SlotAssignment {
  readonly bootstrap: Bootstrap;
  /** Slots given out for the first time in this config (their records were zeroed). */
  readonly freshClusters: ReadonlySet<number>;
  readonly freshEndpoints: ReadonlySet<number>;
  commit(): void;
}

export class StateSlotsError extends Error {
  override readonly name = 'StateSlotsError';
}

export function endpointKey(cluster: string, e: Pick<Endpoint, 'address' | 'port'>): string {
  return `${cluster}\u0000${e.address}\u0000${e.port}`;
}

export class StateSlots {
  private readonly clusters: SlotTable;
  private readonly endpoints: SlotTable;

  constructor(
    private readonly state: SharedState,
    private readonly quarantineMs = SLOT_QUARANTINE_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.clusters = new SlotTable(state.clusterCapacity, 'clusters', '--max-clusters');
    this.endpoints = new SlotTable(state.endpointCapacity, 'endpoints', '--max-endpoints');
  }

  /** The slot of cluster `name` in the active config, if any. */
  clusterSlot(name: string): number | undefined {
    return this.clusters.used.get(name);
  }

  endpointSlot(cluster: string, e: Pick<Endpoint, 'address' | 'port'>): number | undefined {
    return this.endpoints.used.get(endpointKey(cluster, e));
  }

  /** Gives every cluster and endpoint of `bootstrap` its slot; throws StateSlotsError when there are not enough. Changes nothing until commit(). */
  assign(bootstrap: Bootstrap): SlotAssignment {
    const now = this.now();
    this.clusters.expire(now);
    this.endpoints.expire(now);
    const clusterPlan = plan(this.clusters);
    const endpointPlan = plan(this.endpoints);
    const clusters: Cluster[] = bootstrap.clusters.map((c) => {
      const endpoints = c.endpoints.map((e) => ({ ...e, stateSlot: endpointPlan.slotFor(endpointKey(c.name, e)) }));
      return { ...c, stateSlot: clusterPlan.slotFor(c.name), endpoints };
    });
    clusterPlan.check(bootstrap.clusters.length);
    endpointPlan.check(bootstrap.clusters.reduce((n, c) => n + c.endpoints.length, 0));
    // Fresh slots are free (quarantine passed), so zeroing them now disturbs nobody.
    for (const slot of clusterPlan.fresh) {
      this.state.zero(this.state.clusterBase(slot));
      this.state.zeroHoldings(slot);
    }
    for (const slot of endpointPlan.fresh) this.state.zero(this.state.endpointBase(slot));
    return {
      bootstrap: { ...bootstrap, clusters },
      freshClusters: clusterPlan.fresh,
      freshEndpoints: endpointPlan.fresh,
      commit: () => {
        const at = this.now() + this.quarantineMs;
        clusterPlan.commit(at);
        endpointPlan.commit(at);
      },
    };
  }
}

/** A tentative assignment over one table. */
function plan(table: SlotTable): { slotFor(key: string): number; check(count: number): void; fresh: Set<number>; commit(until: number): void } {
  const used = new Map<string, number>();
  const fresh = new Set<number>();
  let freeTaken = 0;
  let next = table.next;
  let short = 0;
  return {
    fresh,
    slotFor(key: string): number {
      const already = used.get(key) ?? table.used.get(key);
      if (already !== undefined) {
        used.set(key, already);
        return already;
      }
      let slot: number;
      if (freeTaken < table.free.length) slot = table.free[freeTaken++]!;
      else if (next < table.capacity) slot = next++;
      else {
        short++;
        return -1;
      }
      fresh.add(slot);
      used.set(key, slot);
      return slot;
    },
    check(count: number): void {
      if (short === 0) return;
      const held = table.used.size - [...table.used.keys()].filter((k) => used.has(k)).length;
      throw new StateSlotsError(
        `too many ${table.what} for the proxy's shared state: this config has ${count} ` +
          `(${short} could not get a slot; capacity ${table.capacity}, ${table.quarantine.length + held} freed slots still in quarantine); ` +
          `raise ${table.option}`,
      );
    },
    commit(until: number): void {
      for (const [key, slot] of table.used) if (!used.has(key)) table.quarantine.push({ slot, until });
      table.free = table.free.slice(freeTaken);
      table.next = next;
      table.used = used;
    },
  };
}
