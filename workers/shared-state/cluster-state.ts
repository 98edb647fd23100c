// A cluster's record in the shared state as one thread uses it: Envoy's
// circuit breakers (max_connections, max_pending_requests, max_requests,
// max_retries or a retry budget) enforced across all workers together, with
// one Atomics.add per admission. A refused admission is undone at once and
// counted in the cluster's overflow counters. What this worker holds is also
// kept in its own holdings (plain writes: only this thread writes them), so
// the agent can give it back if the worker dies.
import type { CircuitBreakers } from '../../src/config/bootstrap-types.js';
import { CLUSTER, HOLDING_INTS, signalHealthChange } from './state-layout.js';

export class ClusterState {
  private readonly maxConnections: number;
  private readonly maxPending: number;
  private readonly maxRequests: number;
  private readonly maxRetries: number;
  /** retry_budget: budget_percent / 100 and min_retry_concurrency; fraction < 0 = no budget (max_retries applies). */
  private readonly budgetFraction: number;
  private readonly budgetMin: number;

  constructor(
    readonly ints: Int32Array,
    /** Index of the record's first field in `ints`. */
    readonly base: number,
    readonly thresholds: CircuitBreakers,
    /** This worker's holdings for the cluster (HOLDING_INTS fields at ownBase; the cluster record's first fields). */
    private readonly own: Int32Array = new Int32Array(HOLDING_INTS),
    private readonly ownBase = 0,
  ) {
    this.maxConnections = thresholds.maxConnections;
    this.maxPending = thresholds.maxPendingRequests;
    this.maxRequests = thresholds.maxRequests;
    this.maxRetries = thresholds.maxRetries;
    const budget = thresholds.retryBudget;
    this.budgetFraction = budget === null ? -1 : budget.budgetPercent / 100;
    this.budgetMin = budget === null ? 0 : budget.minRetryConcurrency;
  }

  // ---- requests (max_requests) ----

  /** Takes an active-request slot; false (and counted as upstream_rq_pending_overflow, as Envoy does) when max_requests are in flight. */
  admitRequest(): boolean {
    const at = this.base + CLUSTER.RQ_ACTIVE;
    if (Atomics.add(this.ints, at, 1) < this.maxRequests) {
      this.own[this.ownBase + CLUSTER.RQ_ACTIVE]!++;
      return true;
    }
    Atomics.sub(this.ints, at, 1);
    Atomics.add(this.ints, this.base + CLUSTER.RQ_PENDING_OVERFLOW, 1);
    return false;
  }

  releaseRequest(): void {
    Atomics.sub(this.ints, this.base + CLUSTER.RQ_ACTIVE, 1);
    this.own[this.ownBase + CLUSTER.RQ_ACTIVE]!--;
  }

  // ---- pending requests (max_pending_requests) ----

  /** A request starts waiting for a connection; false (counted) when max_pending_requests already wait. */
  admitPending(): boolean {
    const at = this.base + CLUSTER.RQ_PENDING;
    if (Atomics.add(this.ints, at, 1) < this.maxPending) {
      this.own[this.ownBase + CLUSTER.RQ_PENDING]!++;
      return true;
    }
    Atomics.sub(this.ints, at, 1);
    Atomics.add(this.ints, this.base + CLUSTER.RQ_PENDING_OVERFLOW, 1);
    return false;
  }

  releasePending(): void {
    Atomics.sub(this.ints, this.base + CLUSTER.RQ_PENDING, 1);
    this.own[this.ownBase + CLUSTER.RQ_PENDING]!--;
  }

  // ---- connections (max_connections) ----

  /** A new connection is within max_connections; when not, counts upstream_cx_overflow. */
  mayConnect(): boolean {
    if (Atomics.load(this.ints, this.base + CLUSTER.CX_ACTIVE) < this.maxConnections) return true;
    Atomics.add(this.ints, this.base + CLUSTER.CX_OVERFLOW, 1);
    return false;
  }

  /** Like mayConnect, without counting an overflow (serving requests that already wait). */
  belowConnectionLimit(): boolean {
    return Atomics.load(this.ints, this.base + CLUSTER.CX_ACTIVE) < this.maxConnections;
  }

  connectionOpened(): void {
    Atomics.add(this.ints, this.base + CLUSTER.CX_ACTIVE, 1);
    this.own[this.ownBase + CLUSTER.CX_ACTIVE]!++;
  }

  connectionClosed(): void {
    Atomics.sub(this.ints, this.base + CLUSTER.CX_ACTIVE, 1);
    this.own[this.ownBase + CLUSTER.CX_ACTIVE]!--;
  }

  // ---- retries (max_retries, retry_budget) ----

  /** Active retries allowed now: max_retries, or with a budget max(min_retry_concurrency, budget% of active + pending requests). */
  retryLimit(): number {
    if (this.budgetFraction < 0) return this.maxRetries;
    const load = Atomics.load(this.ints, this.base + CLUSTER.RQ_ACTIVE) + Atomics.load(this.ints, this.base + CLUSTER.RQ_PENDING);
    return Math.max(this.budgetMin, Math.floor(this.budgetFraction * load));
  }

  /** Takes an active-retry slot; false (counted as upstream_rq_retry_overflow) when the limit is reached. */
  admitRetry(): boolean {
    const at = this.base + CLUSTER.RETRY_ACTIVE;
    if (Atomics.add(this.ints, at, 1) < this.retryLimit()) {
      this.own[this.ownBase + CLUSTER.RETRY_ACTIVE]!++;
      return true;
    }
    Atomics.sub(this.ints, at, 1);
    Atomics.add(this.ints, this.base + CLUSTER.RETRY_OVERFLOW, 1);
    return false;
  }

  releaseRetry(): void {
    Atomics.sub(this.ints, this.base + CLUSTER.RETRY_ACTIVE, 1);
    this.own[this.ownBase + CLUSTER.RETRY_ACTIVE]!--;
  }

  // ---- health ----

  /** Moves on every health change of the cluster's endpoints. */
  epoch(): number {
    return Atomics.load(this.ints, this.base + CLUSTER.HEALTH_EPOCH);
  }

  bumpEpoch(): void {
    Atomics.add(this.ints, this.base + CLUSTER.HEALTH_EPOCH, 1);
    signalHealthChange(this.ints);
  }

  /** Any field, for stats and tests. */
  read(field: number): number {
    return Atomics.load(this.ints, this.base + field);
  }
}
