// Envoy's x-forwarded-for defaults, apart from the reader so the data plane can use them without it.
import type { ForwardingConfig } from './bootstrap-types.js';

/** use_remote_address false, xff_num_trusted_hops 0, skip_xff_append false. */
export const DEFAULT_FORWARDING: ForwardingConfig = Object.freeze({ useRemoteAddress: false, xffNumTrustedHops: 0, skipXffAppend: false });
