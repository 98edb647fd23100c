import { describe, expect, it } from 'vitest';
import type { Bootstrap } from '../../../src/config/bootstrap-types.js';
import { StateSlots, StateSlotsError } from '../../../workers/agent/state-slots.js';
import { CLUSTER, SharedState } from '../../../workers/shared-state/state-layout.js';
import { testCluster } from '../../support/bootstrap-defaults.js';

function config(clusters: Record<string, number[]>): Bootstrap {
  return { listeners: [], clusters: Object.entries(clusters).map(([name, ports]) => testCluster(name, ports)) };
}

function slotsOf(b: Bootstrap): Record<string, [number, number[]]> {
  return Object.fromEntries(b.clusters.map((c) => [c.name, [c.stateSlot!, c.endpoints.map((e) => e.stateSlot!)]]));
}

describe('StateSlots', () => {
  it('assigns each cluster and endpoint a slot, stable across versions while it exists', () => {
    const slots = new StateSlots(SharedState.create({ clusters: 8, endpoints: 8, workers: 2 }));
    const v1 = slots.assign(config({ a: [1, 2], b: [3] }));
    v1.commit();
    expect(slotsOf(v1.bootstrap)).toEqual({ a: [0, [0, 1]], b: [1, [2]] });
    const v2 = slots.assign(config({ b: [3, 4], a: [2, 1] }));
    v2.commit();
    expect(slotsOf(v2.bootstrap)).toEqual({ b: [1, [2, 3]], a: [0, [1, 0]] });
    expect([...v2.freshEndpoints]).toEqual([3]);
    expect(slots.endpointSlot('a', { address: '127.0.0.1', port: 2 })).toBe(1);
  });

  it('keeps a freed slot in quarantine, then zeroes it before giving it to something new', () => {
    const clock = { now: 0 };
    const state = SharedState.create({ clusters: 2, endpoints: 2, workers: 2 });
    const slots = new StateSlots(state, 1000, () => clock.now);
    const v1 = slots.assign(config({ a: [1], b: [2] }));
    v1.commit();
    Atomics.store(state.ints, state.clusterBase(1) + CLUSTER.RQ_PENDING_OVERFLOW, 7);
    slots.assign(config({ a: [1] })).commit(); // b's slots freed at t=0
    clock.now = 999;
    expect(() => slots.assign(config({ a: [1], c: [3] }))).toThrow(StateSlotsError);
    clock.now = 1000;
    const v3 = slots.assign(config({ a: [1], c: [3] }));
    v3.commit();
    expect(slotsOf(v3.bootstrap)).toEqual({ a: [0, [0]], c: [1, [1]] });
    expect(Atomics.load(state.ints, state.clusterBase(1) + CLUSTER.RQ_PENDING_OVERFLOW)).toBe(0);
  });

  it('names the option to raise when a config needs more slots than the capacity', () => {
    const slots = new StateSlots(SharedState.create({ clusters: 4, endpoints: 3, workers: 2 }));
    expect(() => slots.assign(config({ a: [1, 2], b: [3, 4] }))).toThrow(
      /too many endpoints for the proxy's shared state: this config has 4 \(1 could not get a slot; capacity 3.*raise --max-endpoints/,
    );
    expect(() => new StateSlots(SharedState.create({ clusters: 1, endpoints: 9, workers: 2 })).assign(config({ a: [1], b: [2] }))).toThrow(/--max-clusters/);
  });

  it('changes nothing when the assignment is not committed (the version was never written)', () => {
    const slots = new StateSlots(SharedState.create({ clusters: 4, endpoints: 4, workers: 2 }));
    slots.assign(config({ a: [1] })).commit();
    slots.assign(config({ b: [2] })); // not committed
    expect(slots.clusterSlot('a')).toBe(0);
    expect(slots.clusterSlot('b')).toBeUndefined();
    const again = slots.assign(config({ a: [1], b: [2] }));
    expect(slotsOf(again.bootstrap)).toEqual({ a: [0, [0]], b: [1, [1]] });
  });
});
