// A request's retry policy in force: which outcomes retry, how many tries
// remain, and Envoy's fully jittered exponential back-off between them.
import type { RetryPolicy } from '../src/config/bootstrap-types.js';
import type { ClusterState } from './shared-state/cluster-state.js';
import { UpstreamFailure } from './upstream-connection.js';

/** A policy's retry_on list as flags, computed once per policy (config is immutable, so cached by identity). */
class RetryConditions {
  readonly on5xx: boolean;
  readonly onGatewayError: boolean;
  readonly onConnectFailure: boolean;
  readonly onReset: boolean;
  readonly onStatusCodes: boolean;
  /** Bit n set: grpc-status n retries (trailers-only responses). */
  readonly grpcMask: number;

  constructor(on: readonly string[]) {
    let mask = 0;
    if (on.includes('cancelled')) mask |= 1 << 1;
    if (on.includes('deadline-exceeded')) mask |= 1 << 4;
    if (on.includes('resource-exhausted')) mask |= 1 << 8;
    if (on.includes('internal')) mask |= 1 << 13;
    if (on.includes('unavailable')) mask |= 1 << 14;
    this.grpcMask = mask;
    this.on5xx = on.includes('5xx');
    this.onGatewayError = on.includes('gateway-error');
    this.onConnectFailure = on.includes('connect-failure');
    this.onReset = on.includes('reset');
    this.onStatusCodes = on.includes('retriable-status-codes');
  }
}

const conditionsByPolicy = new WeakMap<RetryPolicy, RetryConditions>();

/** The last policy asked for: consecutive requests usually share one route, so most look-ups skip the WeakMap. */
let lastPolicy: RetryPolicy | null = null;
let lastConditions: RetryConditions | null = null;

function conditionsOf(policy: RetryPolicy): RetryConditions {
  if (policy === lastPolicy) return lastConditions!;
  let c = conditionsByPolicy.get(policy);
  if (c === undefined) conditionsByPolicy.set(policy, (c = new RetryConditions(policy.retryOn)));
  lastPolicy = policy;
  lastConditions = c;
  return c;
}

export class RetryState {
  used = 0;
  private readonly c: RetryConditions;
  /** The cluster whose active-retry slot this request holds (max_retries / retry_budget), if any. */
  private held: ClusterState | null = null;

  constructor(readonly policy: RetryPolicy) {
    this.c = conditionsOf(policy);
  }

  hasBudget(): boolean {
    return this.used < this.policy.numRetries;
  }

  /**
   * Envoy's shouldRetry: gives back the slot of the previous retry (its
   * outcome is known now), then takes one for the next; false (counted as
   * upstream_rq_retry_overflow) when the cluster is at max_retries or its
   * retry budget, and the request then ends with the outcome it has.
   */
  admit(cluster: ClusterState): boolean {
    this.release();
    if (!cluster.admitRetry()) return false;
    this.held = cluster;
    return true;
  }

  /** The request is done: its retry slot goes back. */
  release(): void {
    if (this.held !== null) {
      this.held.releaseRetry();
      this.held = null;
    }
  }

  /** A response with this status is retried (rather than forwarded). */
  retriesStatus(status: number): boolean {
    if (status >= 500 && this.c.on5xx) return true;
    if ((status === 502 || status === 503 || status === 504) && this.c.onGatewayError) return true;
    return this.c.onStatusCodes && this.policy.retriableStatusCodes.includes(status);
  }

  /** The policy names a gRPC condition (only then is grpc-status looked up). */
  get watchesGrpc(): boolean {
    return this.c.grpcMask !== 0;
  }

  /** A trailers-only response with this grpc-status is retried. */
  retriesGrpc(grpcStatus: number): boolean {
    return grpcStatus >= 0 && grpcStatus < 31 && (this.c.grpcMask & (1 << grpcStatus)) !== 0;
  }

  /** Envoy: 5xx and gateway-error also cover connect failures and resets. */
  retriesFailure(failure: number): boolean {
    if (failure === UpstreamFailure.OVERFLOW) return false; // Envoy never retries an overflow
    if (this.c.on5xx || this.c.onGatewayError) return true;
    if (failure === UpstreamFailure.CONNECT) return this.c.onConnectFailure || this.c.onReset;
    if (failure === UpstreamFailure.RESET) return this.c.onReset;
    return false;
  }

  /** A per-try timeout counts as a 504 / a reset. */
  retriesTimeout(): boolean {
    return this.c.on5xx || this.c.onGatewayError || this.c.onReset;
  }

  /** Delay before the next try: random in [0, base * 2^(n-1)], capped at max_interval. */
  backoffMs(): number {
    const ceiling = Math.min(this.policy.backOffBaseMs * 2 ** (this.used - 1), this.policy.backOffMaxMs);
    return Math.random() * ceiling;
  }
}
