// The HTTP connection manager's x-forwarded-for fields: use_remote_address,
// xff_num_trusted_hops and skip_xff_append (Envoy's rules for appending to
// XFF and finding the trusted client address are in workers/forwarded-for.ts).

import type { ForwardingConfig } from './bootstrap-types.js';
import { DEFAULT_FORWARDING } from './forwarding-defaults.js';
import { UINT32_MAX, type ObjectReader } from './yaml-reader.js';

/** Envoy's defaults: transparent (XFF not modified), no trusted hops. */
export { DEFAULT_FORWARDING } from './forwarding-defaults.js';

/** Reads the three fields from an HttpConnectionManager; undefined after reporting a problem. */
export function readForwarding(hcm: ObjectReader): ForwardingConfig | undefined {
  const remoteField = hcm.field('use_remote_address');
  const useRemoteAddress = remoteField.bool();
  const hopsField = hcm.field('xff_num_trusted_hops');
  const hops = hopsField.integer(0, UINT32_MAX);
  const skipField = hcm.field('skip_xff_append');
  const skipXffAppend = skipField.bool();
  if ((useRemoteAddress === undefined && !remoteField.missing) || (hops === undefined && !hopsField.missing) || (skipXffAppend === undefined && !skipField.missing)) {
    return undefined;
  }
  if (remoteField.missing && hopsField.missing && skipField.missing) return DEFAULT_FORWARDING;
  return { useRemoteAddress: useRemoteAddress ?? false, xffNumTrustedHops: hops ?? 0, skipXffAppend: skipXffAppend ?? false };
}
