// What a sidecar does when the control plane does not answer its policy
// Check: Istio's meshConfig.policyCheckFailOpen (and the mixer client's
// check timeout and retries), set once for the mesh by `isthmus control`
// options and written into every policy filter as its `transport`
// (network_fail_policy and check_timeout of HttpClientConfig). Checked when
// the control plane starts, within the bounds the proxy accepts, so a setting
// the proxies would refuse never reaches them.
import { duration } from './envoy-values.js';

export interface MeshPolicyCheck {
  /** --policy-check-fail-closed (Istio's policyCheckFailOpen: false): a request whose Check gets no answer is refused (503). */
  readonly failClosed: boolean;
  /** --policy-check-timeout: the deadline of one Check RPC. */
  readonly timeoutMs: number;
  /** --policy-check-retries: Checks asked again after a failure, before the fail policy applies. */
  readonly maxRetry: number;
  /** --policy-check-retry-wait / --policy-check-max-retry-wait: exponential backoff between them, from base to max. */
  readonly baseRetryWaitMs: number;
  readonly maxRetryWaitMs: number;
}

/** The proxy's own defaults (src/config/mixer-filter-config.ts): fail open, 500 ms, no retry. */
export const DEFAULT_MESH_POLICY_CHECK: MeshPolicyCheck = Object.freeze({
  failClosed: false, timeoutMs: 500, maxRetry: 0, baseRetryWaitMs: 80, maxRetryWaitMs: 1000,
});

/** The proxy refuses more (mixer-filter-config.ts MAX_RETRIES). */
export const MAX_POLICY_CHECK_RETRIES = 10;
/** Longer would hold a request for a policy answer past any client's patience. */
export const MAX_POLICY_CHECK_WAIT_MS = 60_000;

/** The problem with a mesh policy-check setting (a sentence naming the option), or undefined when the proxies accept it. */
export function meshPolicyCheckProblem(c: MeshPolicyCheck): string | undefined {
  if (c.timeoutMs < 1 || c.timeoutMs > MAX_POLICY_CHECK_WAIT_MS) return `--policy-check-timeout must be between 1ms and ${MAX_POLICY_CHECK_WAIT_MS / 1000}s (got ${c.timeoutMs} ms)`;
  if (!Number.isInteger(c.maxRetry) || c.maxRetry < 0 || c.maxRetry > MAX_POLICY_CHECK_RETRIES) {
    return `--policy-check-retries must be between 0 and ${MAX_POLICY_CHECK_RETRIES} (got ${c.maxRetry})`;
  }
  if (c.maxRetryWaitMs > MAX_POLICY_CHECK_WAIT_MS) return `--policy-check-max-retry-wait must be at most ${MAX_POLICY_CHECK_WAIT_MS / 1000}s (got ${c.maxRetryWaitMs} ms)`;
  if (c.baseRetryWaitMs > c.maxRetryWaitMs) {
    return `--policy-check-retry-wait (${c.baseRetryWaitMs} ms) must not be longer than --policy-check-max-retry-wait (${c.maxRetryWaitMs} ms)`;
  }
  return undefined;
}

/** The policy filter's `transport` (isthmus.mixer.v1.config.client.TransportConfig) for the mesh setting. */
export function mixerTransport(c: MeshPolicyCheck): object {
  return {
    network_fail_policy: {
      policy: c.failClosed ? 'FAIL_CLOSE' : 'FAIL_OPEN',
      max_retry: c.maxRetry,
      base_retry_wait: duration(c.baseRetryWaitMs),
      max_retry_wait: duration(c.maxRetryWaitMs),
    },
    check_timeout: duration(c.timeoutMs),
  };
}
