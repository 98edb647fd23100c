// config.route.v3.RetryPolicy: which failures are retried, how often, with
// what back-off, and whether a retry avoids the hosts already tried
// (retry_host_predicate envoy.retry_host_predicates.previous_hosts).

import type { RetryOn, RetryPolicy } from './bootstrap-types.js';
import { readEmptyTypedConfig } from './typed-config.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

/**
 * The gRPC conditions retry a trailers-only response whose grpc-status is
 * 1 (cancelled), 4 (deadline-exceeded), 8 (resource-exhausted), 13 (internal)
 * or 14 (unavailable), as Envoy does; refused-stream is met by the HTTP/2 pool
 * itself (an unprocessed stream is always sent again). Istio's default policy
 * (connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes)
 * passes as is.
 */
const RETRY_ON: readonly RetryOn[] = [
  '5xx', 'gateway-error', 'connect-failure', 'reset', 'retriable-status-codes',
  'refused-stream', 'unavailable', 'cancelled', 'deadline-exceeded', 'resource-exhausted', 'internal',
];

/** Envoy defaults: one retry, back-off base 25 ms (max 10 x base), one host selection attempt. */
export const DEFAULT_NUM_RETRIES = 1;
export const DEFAULT_RETRY_BASE_MS = 25;
export const DEFAULT_HOST_SELECTION_RETRY_MAX_ATTEMPTS = 1;
export const PREVIOUS_HOSTS_PREDICATE = 'envoy.retry_host_predicates.previous_hosts';
export const PREVIOUS_HOSTS_TYPE_URL = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

/** One retry_host_predicate entry (core TypedExtensionConfig-like: name, optional typed_config); true when valid. */
function readHostPredicate(v: ValueReader): boolean {
  const obj = v.object();
  if (obj === undefined) return false;
  const nameField = obj.field('name');
  const typedField = obj.field('typed_config');
  let ok = true;
  if (typedField.missing) {
    // Without typed_config the name selects the extension.
    nameField.require();
    const name = nameField.string();
    if (name !== undefined && name !== PREVIOUS_HOSTS_PREDICATE) {
      nameField.problem(`names "${name}"; the only supported retry host predicate is ${PREVIOUS_HOSTS_PREDICATE}`);
    }
    ok = name === PREVIOUS_HOSTS_PREDICATE;
  } else {
    nameField.string(); // with typed_config the type selects it and the name is a label, as in Envoy
    ok = readEmptyTypedConfig(typedField, PREVIOUS_HOSTS_TYPE_URL);
  }
  obj.done();
  return ok;
}

/** config.route.v3.RetryPolicy */
export function readRetryPolicy(v: ValueReader): RetryPolicy | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const retryOnField = obj.field('retry_on');
  const retryOnText = retryOnField.string() ?? '';
  const retryOn: RetryOn[] = [];
  for (const part of retryOnText.split(',')) {
    const cond = part.trim();
    if (cond === '') continue;
    if (!(RETRY_ON as readonly string[]).includes(cond)) {
      retryOnField.problem(`names "${cond}", which is not supported (supported: ${RETRY_ON.join(', ')})`);
    } else if (!retryOn.includes(cond as RetryOn)) retryOn.push(cond as RetryOn);
  }
  const numRetries = obj.field('num_retries').integer(0, UINT32_MAX) ?? DEFAULT_NUM_RETRIES;
  const perTryTimeoutMs = obj.field('per_try_timeout').duration() ?? 0;
  let backOffBaseMs = DEFAULT_RETRY_BASE_MS;
  let backOffMaxMs = DEFAULT_RETRY_BASE_MS * 10;
  const backOff = obj.field('retry_back_off').object();
  if (backOff !== undefined) {
    const baseField = backOff.field('base_interval');
    baseField.require();
    const base = baseField.duration();
    const maxField = backOff.field('max_interval');
    const max = maxField.duration();
    backOff.done();
    if (base !== undefined && base <= 0) baseField.problem('must be greater than 0');
    else if (base !== undefined) backOffBaseMs = base;
    backOffMaxMs = max ?? backOffBaseMs * 10;
    if (max !== undefined && max < backOffBaseMs) maxField.problem('must not be less than base_interval');
  }
  const retriableStatusCodes: number[] = [];
  for (const item of obj.field('retriable_status_codes').list()) {
    const code = item.integer(100, 599);
    if (code !== undefined) retriableStatusCodes.push(code);
  }
  let previousHostsPredicate = false;
  let ok = true;
  for (const item of obj.field('retry_host_predicate').list()) {
    if (readHostPredicate(item)) previousHostsPredicate = true;
    else ok = false;
  }
  const attemptsField = obj.field('host_selection_retry_max_attempts');
  const hostSelectionRetryMaxAttempts = attemptsField.integer(0, Number.MAX_SAFE_INTEGER);
  if (hostSelectionRetryMaxAttempts === undefined && !attemptsField.missing) ok = false;
  obj.done();
  if (!ok) return undefined;
  return {
    retryOn,
    numRetries,
    perTryTimeoutMs,
    backOffBaseMs,
    backOffMaxMs,
    retriableStatusCodes,
    previousHostsPredicate,
    hostSelectionRetryMaxAttempts: hostSelectionRetryMaxAttempts ?? DEFAULT_HOST_SELECTION_RETRY_MAX_ATTEMPTS,
  };
}
