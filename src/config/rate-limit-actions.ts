// config.route.v3.RateLimit on a route action (`rate_limits`): the actions
// that turn a request into descriptor entries, which the local rate limit
// matches against its `descriptors`. Of Envoy's actions, request_headers and
// generic_key are read; the others are refused by name.

import { readHeaderName } from './string-match.js';
import type { ValueReader } from './yaml-reader.js';

export type RateLimitAction =
  /** The value of header `headerName` under `descriptorKey`; without the header the descriptor is skipped, or only this entry with skip_if_absent. */
  | { readonly kind: 'request_headers'; readonly headerName: string; readonly descriptorKey: string; readonly skipIfAbsent: boolean }
  /** A fixed entry: descriptor_key (default "generic_key") = descriptor_value. */
  | { readonly kind: 'generic_key'; readonly descriptorKey: string; readonly descriptorValue: string };

export interface RateLimitPolicy {
  /** stage; default 0 (the local rate limit filter's stage is 0). */
  readonly stage: number;
  readonly actions: readonly RateLimitAction[];
}

const OTHER_ACTIONS = [
  'source_cluster', 'destination_cluster', 'remote_address', 'header_value_match', 'dynamic_metadata', 'metadata',
  'extension', 'masked_remote_address', 'query_parameter_value_match', 'query_parameters',
];

function readAction(v: ValueReader): RateLimitAction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  let action: RateLimitAction | undefined;
  const which = obj.oneOf(['request_headers', 'generic_key', ...OTHER_ACTIONS], true);
  if (which === 'request_headers') {
    const r = obj.field('request_headers').object();
    if (r !== undefined) {
      const nameField = r.field('header_name');
      nameField.require();
      const headerName = readHeaderName(nameField, false);
      const keyField = r.field('descriptor_key');
      keyField.require();
      const descriptorKey = keyField.nonEmptyString();
      const skipIfAbsent = r.field('skip_if_absent').bool() ?? false;
      r.done();
      if (headerName !== undefined && descriptorKey !== undefined) action = { kind: 'request_headers', headerName, descriptorKey, skipIfAbsent };
    }
  } else if (which === 'generic_key') {
    const g = obj.field('generic_key').object();
    if (g !== undefined) {
      const valueField = g.field('descriptor_value');
      valueField.require();
      const descriptorValue = valueField.nonEmptyString();
      const descriptorKey = g.field('descriptor_key').string() || 'generic_key';
      g.done();
      if (descriptorValue !== undefined) action = { kind: 'generic_key', descriptorKey, descriptorValue };
    }
  } else if (which !== undefined && which !== null) {
    obj.field(which).problem('is not supported (of the rate limit actions, this proxy reads request_headers and generic_key)');
  }
  obj.done();
  return action;
}

/** A route action's `rate_limits`; undefined after reporting a problem. */
export function readRateLimitPolicies(v: ValueReader): RateLimitPolicy[] | undefined {
  return v.listOf((item) => {
    const obj = item.object();
    if (obj === undefined) return undefined;
    const stage = obj.field('stage').integer(0, 10) ?? 0;
    const actions = obj.field('actions').listOf(readAction);
    const disableKey = obj.field('disable_key');
    if (!disableKey.missing) disableKey.problem('is not supported');
    const limit = obj.field('limit');
    if (!limit.missing) limit.problem('is not supported (dynamic rate limit overrides)');
    obj.done();
    if (actions === undefined || actions.length === 0 || !disableKey.missing || !limit.missing) {
      if (actions !== undefined && actions.length === 0) item.problem('needs at least one action');
      return undefined;
    }
    return { stage, actions: Object.freeze(actions) };
  });
}
