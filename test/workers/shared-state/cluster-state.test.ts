import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { bindClusterState } from '../../../workers/shared-state/cluster-binding.js';
import { ClusterState } from '../../../workers/shared-state/cluster-state.js';
import { CLUSTER, HEALTH, SharedState, healthFlagsText } from '../../../workers/shared-state/state-layout.js';
import { testCluster } from '../../support/bootstrap-defaults.js';

function breakers(over: Partial<ClusterState['thresholds']> = {}): ClusterState {
  const state = SharedState.create({ clusters: 4, endpoints: 4, workers: 2 });
  return new ClusterState(state.ints, state.clusterBase(1), {
    maxConnections: 2, maxPendingRequests: 2, maxRequests: 3, maxRetries: 1, retryBudget: null, ...over,
  });
}

describe('SharedState layout', () => {
  it('gives every cluster and endpoint record its own 64-byte line after the header', () => {
    const s = SharedState.create({ clusters: 3, endpoints: 5, workers: 2 });
    // Then 4 holdings per worker and cluster slot, then one active-fault holding per worker.
    expect(s.buffer.byteLength).toBe(64 * (1 + 3 + 5) + 16 * 2 * 3 + 4 * 2);
    expect(s.clusterBase(0)).toBe(16);
    expect(s.clusterBase(2)).toBe(48);
    expect(s.endpointBase(0)).toBe(64);
    expect(s.endpointBase(4)).toBe(128);
    expect(() => s.clusterBase(3)).toThrow(/cluster slot 3 out of range/);
    expect(() => s.endpointBase(-1)).toThrow(/endpoint slot -1 out of range/);
  });

  it('is the same memory on another thread: a worker\'s Atomics.add is seen here', async () => {
    const s = SharedState.create({ clusters: 2, endpoints: 2, workers: 2 });
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const ints = new Int32Array(workerData.buffer);
       for (let i = 0; i < 1000; i++) Atomics.add(ints, workerData.at, 1);
       parentPort.postMessage('done');`,
      { eval: true, workerData: { buffer: s.buffer, at: s.clusterBase(1) + CLUSTER.RQ_ACTIVE } },
    );
    for (let i = 0; i < 1000; i++) Atomics.add(s.ints, s.clusterBase(1) + CLUSTER.RQ_ACTIVE, 1);
    await new Promise((resolve) => worker.once('message', resolve));
    await worker.terminate();
    expect(Atomics.load(s.ints, s.clusterBase(1) + CLUSTER.RQ_ACTIVE)).toBe(2000);
  });

  it('refuses a buffer that is not a state buffer, and bad capacities', () => {
    expect(() => new SharedState(new SharedArrayBuffer(64))).toThrow(/not an Isthmus state buffer/);
    expect(() => SharedState.create({ clusters: 0, endpoints: 1, workers: 2 })).toThrow(/capacity must be positive/);
  });

  it('prints health flags as Envoy does', () => {
    expect(healthFlagsText(0)).toBe('healthy');
    expect(healthFlagsText(HEALTH.FAILED_ACTIVE_HC | HEALTH.PENDING_ACTIVE_HC)).toBe('/failed_active_hc/pending_active_hc');
    expect(healthFlagsText(HEALTH.FAILED_OUTLIER_CHECK)).toBe('/failed_outlier_check');
  });
});

describe('SharedState worker holdings', () => {
  it('gives back what an exited worker held, and only that', () => {
    const s = SharedState.create({ clusters: 2, endpoints: 4, workers: 2 });
    const config = { ...testCluster('c', [1, 2]), stateSlot: 1, endpoints: testCluster('c', [1, 2]).endpoints.map((e, i) => ({ ...e, stateSlot: i })) };
    const w0 = bindClusterState(config, s, 0).cluster;
    const w1 = bindClusterState(config, s, 1).cluster;
    for (let i = 0; i < 3; i++) w0.admitRequest();
    w0.admitPending();
    w0.connectionOpened();
    w0.admitRetry();
    w0.releaseRequest(); // a finished one is not held any more
    w1.admitRequest();
    w1.connectionOpened();
    expect([w0.read(CLUSTER.RQ_ACTIVE), w0.read(CLUSTER.RQ_PENDING), w0.read(CLUSTER.CX_ACTIVE), w0.read(CLUSTER.RETRY_ACTIVE)]).toEqual([3, 1, 2, 1]);
    expect(s.releaseWorker(0)).toBe(2 + 1 + 1 + 1);
    expect([w1.read(CLUSTER.RQ_ACTIVE), w1.read(CLUSTER.RQ_PENDING), w1.read(CLUSTER.CX_ACTIVE), w1.read(CLUSTER.RETRY_ACTIVE)]).toEqual([1, 0, 1, 0]);
    expect(s.releaseWorker(0)).toBe(0); // nothing twice
    w1.releaseRequest();
    w1.connectionClosed();
    expect(s.releaseWorker(1)).toBe(0);
    expect(w1.read(CLUSTER.RQ_ACTIVE) + w1.read(CLUSTER.CX_ACTIVE)).toBe(0);
  });
});

describe('ClusterState circuit breakers', () => {
  it('max_requests: admits up to the limit, refuses and counts the next, admits again after a release', () => {
    const b = breakers();
    expect([b.admitRequest(), b.admitRequest(), b.admitRequest()]).toEqual([true, true, true]);
    expect(b.admitRequest()).toBe(false);
    expect(b.read(CLUSTER.RQ_ACTIVE)).toBe(3);
    expect(b.read(CLUSTER.RQ_PENDING_OVERFLOW)).toBe(1);
    b.releaseRequest();
    expect(b.admitRequest()).toBe(true);
  });

  it('max_pending_requests and max_connections', () => {
    const b = breakers();
    expect([b.admitPending(), b.admitPending(), b.admitPending()]).toEqual([true, true, false]);
    expect(b.read(CLUSTER.RQ_PENDING_OVERFLOW)).toBe(1);
    b.connectionOpened();
    b.connectionOpened();
    expect(b.mayConnect()).toBe(false);
    expect(b.belowConnectionLimit()).toBe(false);
    expect(b.read(CLUSTER.CX_OVERFLOW)).toBe(1);
    b.connectionClosed();
    expect(b.mayConnect()).toBe(true);
  });

  it('max_retries caps active retries', () => {
    const b = breakers({ maxRetries: 2 });
    expect([b.admitRetry(), b.admitRetry(), b.admitRetry()]).toEqual([true, true, false]);
    expect(b.read(CLUSTER.RETRY_OVERFLOW)).toBe(1);
    b.releaseRetry();
    expect(b.admitRetry()).toBe(true);
  });

  it('a retry budget replaces max_retries: max(min_retry_concurrency, budget% of active + pending)', () => {
    const b = breakers({ maxRequests: 1000, maxPendingRequests: 1000, maxRetries: 1000, retryBudget: { budgetPercent: 20, minRetryConcurrency: 1 } });
    expect(b.retryLimit()).toBe(1); // nothing in flight: the minimum
    for (let i = 0; i < 20; i++) b.admitRequest();
    for (let i = 0; i < 5; i++) b.admitPending();
    expect(b.retryLimit()).toBe(5); // 20% of 25
    const admitted = Array.from({ length: 8 }, () => b.admitRetry()).filter(Boolean).length;
    expect(admitted).toBe(5);
    expect(b.read(CLUSTER.RETRY_OVERFLOW)).toBe(3);
  });
});

describe('bindClusterState', () => {
  it('points a slotted cluster at its shared records, so two bindings (two workers) see each other', () => {
    const s = SharedState.create({ clusters: 4, endpoints: 8, workers: 2 });
    const config = { ...testCluster('c', [1, 2]), stateSlot: 2 };
    const slotted = { ...config, endpoints: config.endpoints.map((e, i) => ({ ...e, stateSlot: 5 + i })) };
    const a = bindClusterState(slotted, s);
    const b = bindClusterState(slotted, s);
    expect(a.cluster.base).toBe(s.clusterBase(2));
    expect(a.endpoints[1]!.base).toBe(s.endpointBase(6));
    a.cluster.admitRequest();
    expect(b.cluster.read(CLUSTER.RQ_ACTIVE)).toBe(1);
    const epoch = b.health.epoch();
    Atomics.or(s.ints, s.endpointBase(6), HEALTH.FAILED_OUTLIER_CHECK);
    a.cluster.bumpEpoch();
    expect(b.health.epoch()).toBe(epoch + 1);
    expect([b.health.healthy(0), b.health.healthy(1)]).toEqual([true, false]);
  });

  it('gives a cluster without slots records of its own', () => {
    const a = bindClusterState(testCluster('c', [1, 2]), null);
    const b = bindClusterState(testCluster('c', [1, 2]), null);
    a.cluster.admitRequest();
    expect(b.cluster.read(CLUSTER.RQ_ACTIVE)).toBe(0);
    expect(a.health.healthy(0)).toBe(true);
  });
});
