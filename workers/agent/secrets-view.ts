// The admin /secrets view (what `isthmus proxy-config secrets` prints): the
// SDS secrets the agent serves from its workload identity, in the spirit of
// Envoy's SecretsConfigDump: per secret its chain with serial, SANs and
// validity, and when it was last renewed. Never the private key.
import { X509Certificate } from 'node:crypto';
import { pemBlocks } from '../../src/identity/x509.js';
import type { WorkloadIdentity } from './workload-identity.js';

function describe(pem: string): Record<string, unknown> {
  const c = new X509Certificate(pem);
  return {
    serial_number: c.serialNumber.toLowerCase(),
    subject: (c.subject ?? '').replace(/\n/g, ', '),
    issuer: (c.issuer ?? '').replace(/\n/g, ', '),
    subject_alt_names: (c.subjectAltName ?? '').split(', ').filter((s) => s !== ''),
    valid_from: new Date(Date.parse(c.validFrom)).toISOString(),
    expiration_time: new Date(Date.parse(c.validTo)).toISOString(),
    ca: c.ca,
  };
}

/** takes the agent's identity (or null); returns { secrets: [...] } for the admin API. */
export function secretsView(identity: WorkloadIdentity | null): { secrets: Record<string, unknown>[] } {
  const c = identity?.certificate ?? null;
  if (identity === null || c === null) return { secrets: [] };
  return {
    secrets: [
      {
        name: 'default', spiffe_id: c.spiffeId, serial_number: c.serial, last_updated: new Date(c.issuedAt).toISOString(),
        rotations: identity.rotations, request_failures: identity.failures,
        expiration_time: new Date(c.notAfter).toISOString(), cert_chain: pemBlocks(c.chainPem, 'CERTIFICATE').map(describe), private_key: '[redacted]',
      },
      { name: 'ROOTCA', last_updated: new Date(c.issuedAt).toISOString(), trusted_ca: pemBlocks(c.rootPem, 'CERTIFICATE').map(describe) },
    ],
  };
}
