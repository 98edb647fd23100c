import { describe, expect, it } from 'vitest';
import type { Bootstrap, Cluster, OutlierDetection } from '../../../src/config/bootstrap-types.js';
import { DEFAULT_OUTLIER_DETECTION } from '../../../src/config/outlier-detection.js';
import { createLogger } from '../../../src/log.js';
import { OutlierSweeper } from '../../../workers/agent/outlier-sweeper.js';
import { StateSlots } from '../../../workers/agent/state-slots.js';
import { bindClusterState, type ClusterBinding } from '../../../workers/shared-state/cluster-binding.js';
import { setEjectionListener, type EjectionNotice } from '../../../workers/shared-state/endpoint-state.js';
import { CLUSTER, HEALTH, SharedState } from '../../../workers/shared-state/state-layout.js';
import { testCluster } from '../../support/bootstrap-defaults.js';

const log = createLogger('test', 'silent');

interface Rig {
  state: SharedState;
  config: Cluster;
  /** Two "workers" bound to the same records. */
  w1: ClusterBinding;
  w2: ClusterBinding;
  sweeper: OutlierSweeper;
  clock: { now: number };
  notices: EjectionNotice[];
  /** Advances the clock by `ms` and runs the sweep of cluster 'c' (what the interval timer does). */
  sweepAfter(ms: number): void;
}

function rig(od: Partial<OutlierDetection>, endpoints = 4): Rig {
  const state = SharedState.create({ clusters: 4, endpoints: 16, workers: 2 });
  const clock = { now: 1_000_000 };
  const slots = new StateSlots(state, 0, () => clock.now);
  const bootstrap: Bootstrap = {
    listeners: [],
    clusters: [testCluster('c', Array.from({ length: endpoints }, (_, i) => 9000 + i), { outlierDetection: { ...DEFAULT_OUTLIER_DETECTION, ...od } })],
  };
  const assigned = slots.assign(bootstrap);
  assigned.commit();
  const config = assigned.bootstrap.clusters[0]!;
  const sweeper = new OutlierSweeper(state, log, { now: () => clock.now, timers: false, random: () => 0.5 });
  sweeper.update(assigned.bootstrap);
  const notices: EjectionNotice[] = [];
  setEjectionListener((n) => {
    notices.push(n);
    sweeper.onWorkerEjection(n.cluster, n.address, n.port, n.kind);
  });
  const sweepAfter = (ms: number): void => {
    clock.now += ms;
    sweeper.sweep('c');
  };
  return { state, config, w1: bindClusterState(config, state), w2: bindClusterState(config, state), sweeper, clock, notices, sweepAfter };
}

describe('outlier detection bookkeeping', () => {
  it('consecutive 5xx seen by two workers add up; the fifth ejects once, for all', () => {
    const r = rig({ consecutive5xx: 5, maxEjectionPercent: 50 });
    r.w1.endpoints[0]!.recordStatus(503);
    r.w2.endpoints[0]!.recordStatus(500);
    r.w1.endpoints[0]!.recordLocalFailure();
    r.w2.endpoints[0]!.recordStatus(502);
    expect(r.w1.health.healthy(0)).toBe(true);
    const epoch = r.w2.health.epoch();
    r.w1.endpoints[0]!.recordStatus(504);
    expect(r.w2.health.healthy(0)).toBe(false);
    expect(r.w2.health.epoch()).toBe(epoch + 1);
    expect(r.notices).toEqual([{ cluster: 'c', address: '127.0.0.1', port: 9000, kind: 0 }]);
    expect(r.w1.cluster.read(CLUSTER.EJECTED)).toBe(1);
    expect(r.w1.cluster.read(CLUSTER.EJECTIONS_ENFORCED_5XX)).toBe(1);
  });

  it('a success in between resets the run', () => {
    const r = rig({ consecutive5xx: 3, maxEjectionPercent: 50 });
    const e = r.w1.endpoints[1]!;
    e.recordStatus(500);
    e.recordStatus(500);
    r.w2.endpoints[1]!.recordStatus(200);
    e.recordStatus(500);
    e.recordStatus(500);
    expect(r.w1.health.healthy(1)).toBe(true);
    e.recordStatus(500);
    expect(r.w1.health.healthy(1)).toBe(false);
  });

  it('comes back after base_ejection_time x ejections (capped by max_ejection_time), checked at each interval', () => {
    const r = rig({ consecutive5xx: 1, baseEjectionTimeMs: 300, maxEjectionTimeMs: 500, maxEjectionPercent: 50 });
    const eject = (): void => r.w1.endpoints[0]!.recordStatus(500);
    eject();
    expect(r.w1.health.healthy(0)).toBe(false);
    r.sweepAfter(299);
    expect(r.w1.health.healthy(0)).toBe(false);
    r.sweepAfter(1);
    expect(r.w1.health.healthy(0)).toBe(true);
    expect(r.w1.cluster.read(CLUSTER.EJECTED)).toBe(0);
    // Second ejection right away: 2 x 300 = 600, capped at 500.
    eject();
    r.sweepAfter(499);
    expect(r.w1.health.healthy(0)).toBe(false);
    r.sweepAfter(1);
    expect(r.w1.health.healthy(0)).toBe(true);
  });

  it('the multiplier decays while the endpoint stays healthy', () => {
    const r = rig({ consecutive5xx: 1, baseEjectionTimeMs: 100, maxEjectionTimeMs: 1000, maxEjectionPercent: 50 });
    const e = r.w1.endpoints[0]!;
    e.recordStatus(500); // x1
    r.sweepAfter(100);
    e.recordStatus(500); // x2
    r.sweepAfter(200);
    expect(r.w1.health.healthy(0)).toBe(true);
    // Healthy for two base times: x2 -> x0, so the next ejection lasts 1 x base.
    r.sweepAfter(100);
    r.sweepAfter(100);
    e.recordStatus(500);
    r.sweepAfter(100);
    expect(r.w1.health.healthy(0)).toBe(true);
  });

  it('max_ejection_percent: no ejection that would take the share over it', () => {
    const r = rig({ consecutive5xx: 1, maxEjectionPercent: 50 }, 4);
    for (let i = 0; i < 4; i++) r.w1.endpoints[i]!.recordStatus(500);
    expect([0, 1, 2, 3].map((i) => r.w1.health.healthy(i))).toEqual([false, false, true, true]);
    expect(r.w1.cluster.read(CLUSTER.EJECTIONS_OVERFLOW)).toBe(2);
    // Envoy's default 10% ejects nothing in a 4-endpoint cluster.
    const small = rig({ consecutive5xx: 1 }, 4);
    small.w1.endpoints[0]!.recordStatus(500);
    expect(small.w1.health.healthy(0)).toBe(true);
  });

  it('enforcing_consecutive_gateway_failure 0 (the default) detects but does not eject; 100 ejects', () => {
    const off = rig({ consecutive5xx: 100, consecutiveGatewayFailure: 2, maxEjectionPercent: 50 });
    off.w1.endpoints[0]!.recordLocalFailure();
    off.w1.endpoints[0]!.recordLocalFailure();
    expect(off.w1.health.healthy(0)).toBe(true);
    expect(off.w1.cluster.read(CLUSTER.EJECTIONS_DETECTED_GATEWAY)).toBe(1);
    const on = rig({ consecutive5xx: 100, consecutiveGatewayFailure: 2, enforcingConsecutiveGatewayFailure: 100, maxEjectionPercent: 50 });
    on.w1.endpoints[0]!.recordStatus(503);
    on.w1.endpoints[0]!.recordStatus(500); // not a gateway failure: the gateway run starts over
    on.w1.endpoints[0]!.recordStatus(502);
    expect(on.w1.health.healthy(0)).toBe(true);
    on.w1.endpoints[0]!.recordLocalFailure();
    expect(on.w1.health.healthy(0)).toBe(false);
    expect(on.w1.cluster.read(CLUSTER.EJECTIONS_ENFORCED_GATEWAY)).toBe(1);
  });

  it('success rate: ejects the endpoint far below the others at the interval', () => {
    const r = rig({ consecutive5xx: 1000, successRateMinimumHosts: 3, successRateRequestVolume: 50, successRateStdevFactor: 1000, maxEjectionPercent: 50 }, 5);
    for (let i = 0; i < 5; i++) {
      for (let n = 0; n < 100; n++) r.w1.endpoints[i]!.recordStatus(i === 3 && n % 2 === 0 ? 500 : 200);
    }
    r.sweeper.sweep('c');
    expect([0, 1, 2, 3, 4].map((i) => r.w1.health.healthy(i))).toEqual([true, true, true, false, true]);
    expect(r.w1.cluster.read(CLUSTER.EJECTIONS_ENFORCED_SUCCESS_RATE)).toBe(1);
  });

  it('an ejection whose report was lost is timed from the next sweep; removing outlier_detection returns everyone', () => {
    const r = rig({ consecutive5xx: 1, baseEjectionTimeMs: 100, maxEjectionPercent: 50 });
    setEjectionListener(null);
    r.w1.endpoints[0]!.recordStatus(500);
    r.sweepAfter(1000); // first seen now
    expect(r.w1.health.healthy(0)).toBe(false);
    r.sweeper.update({ listeners: [], clusters: [{ ...r.config, outlierDetection: null }] });
    expect(r.w1.health.healthy(0)).toBe(true);
    expect(Atomics.load(r.state.ints, r.state.endpointBase(r.config.endpoints[0]!.stateSlot!)) & HEALTH.FAILED_OUTLIER_CHECK).toBe(0);
  });
});
