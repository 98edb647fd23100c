// The SDS Secrets the control plane serves over ADS (type
// extensions.transport_sockets.tls.v3.Secret), as istiod does for proxies that
// name them with `sds_config: {ads: {}}`: `ROOTCA`, the mesh trust bundle
// (every root trusted now; during a root rotation both), so a rotation reaches
// every proxy at once instead of at its next certificate renewal. Never a
// private key: `default` (a workload's certificate and key) is made by each
// proxy's agent from its own in-memory key, so a request for it (or for any
// name not here) gets nothing.
import { createHash } from 'node:crypto';
import type { SnapshotTypeInput } from '../xds/snapshot.js';

export const ROOT_CA_SECRET_NAME = 'ROOTCA';

/** takes the trust bundle (PEM, one or more roots); returns the Secret type of every proxy's snapshot. */
export function meshSecrets(trustBundlePem: string): SnapshotTypeInput {
  const rootCa = { name: ROOT_CA_SECRET_NAME, validation_context: { trusted_ca: { inline_string: trustBundlePem } } };
  const version = createHash('sha256').update(trustBundlePem).digest('base64url').slice(0, 16);
  return Object.freeze({ version, resources: Object.freeze([rootCa]) });
}
