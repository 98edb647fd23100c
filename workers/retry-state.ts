// A request's retry policy in force: which outcomes retry, how many tries
// remain, and Envoy's fully jittered exponential back-off between them.
import type { RetryPolicy } from '../src/config/bootstrap-types.js';
import { UpstreamFailure } from './upstream-connection.js';

export class RetryState {
  used = 0;
  private readonly on5xx: boolean;
  private readonly onGatewayError: boolean;
  private readonly onConnectFailure: boolean;
  private readonly onReset: boolean;
  private readonly onStatusCodes: boolean;

  constructor(readonly policy: RetryPolicy) {
    const on = policy.retryOn;
    this.on5xx = on.includes('5xx');
    this.onGatewayError = on.includes('gateway-error');
    this.onConnectFailure = on.includes('connect-failure');
    this.onReset = on.includes('reset');
    this.onStatusCodes = on.includes('retriable-status-codes');
  }

  hasBudget(): boolean {
    return this.used < this.policy.numRetries;
  }

  /** A response with this status is retried (rather than forwarded). */
  retriesStatus(status: number): boolean {
    if (status >= 500 && this.on5xx) return true;
    if ((status === 502 || status === 503 || status === 504) && this.onGatewayError) return true;
    return this.onStatusCodes && this.policy.retriableStatusCodes.includes(status);
  }

  /** Envoy: 5xx and gateway-error also cover connect failures and resets. */
  retriesFailure(failure: number): boolean {
    if (this.on5xx || this.onGatewayError) return true;
    if (failure === UpstreamFailure.CONNECT) return this.onConnectFailure || this.onReset;
    if (failure === UpstreamFailure.RESET) return this.onReset;
    return false;
  }

  /** A per-try timeout counts as a 504 / a reset. */
  retriesTimeout(): boolean {
    return this.on5xx || this.onGatewayError || this.onReset;
  }

  /** Delay before the next try: random in [0, base * 2^(n-1)], capped at max_interval. */
  backoffMs(): number {
    const ceiling = Math.min(this.policy.backOffBaseMs * 2 ** (this.used - 1), this.policy.backOffMaxMs);
    return Math.random() * ceiling;
  }
}
