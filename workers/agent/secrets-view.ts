// The admin /secrets view (what `isthmus proxy-config secrets` prints): the
// SDS secrets the proxy's TLS contexts use, in the spirit of Envoy's
// SecretsConfigDump: per secret where it came from (the agent's workload
// identity by CSR, or the control plane over ADS), its chain with serial,
// SANs and validity, and when it was last updated; then the names asked of
// the control plane that have not arrived and what waits for them. Never the
// private key.
import { X509Certificate } from 'node:crypto';
import type { SdsSecret } from '../../src/config/sds-secrets.js';
import { pemBlocks } from '../../src/identity/x509.js';
import type { SecretSource, Warming } from './sds-warming.js';
import type { WorkloadIdentity } from './workload-identity.js';
import type { HeldSecret } from './xds-client-secrets.js';

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

/** Certificates of a PEM bundle; one that does not parse is shown as such rather than failing the view. */
function describeAll(pem: string): Record<string, unknown>[] {
  return pemBlocks(pem, 'CERTIFICATE').map((block) => {
    try {
      return describe(block);
    } catch {
      return { error: 'not a parsable certificate' };
    }
  });
}

export interface SecretsViewExtra {
  /** Where each secret the data plane uses came from. */
  readonly sources?: ReadonlyMap<string, SecretSource>;
  /** Secrets accepted over ADS. */
  readonly ads?: ReadonlyMap<string, HeldSecret>;
  /** Names asked of the control plane. */
  readonly wanted?: readonly string[];
  readonly warming?: readonly Warming[];
}

function adsEntry(name: string, h: HeldSecret): Record<string, unknown> {
  const s: SdsSecret = h.secret;
  return {
    name, source: 'ADS', version_info: h.version, last_updated: h.receivedAt,
    ...(s.trustedCaPem !== undefined ? { trusted_ca: describeAll(s.trustedCaPem) } : {}),
    ...(s.certificate !== undefined ? { cert_chain: describeAll(s.certificate.chainPem), private_key: '[redacted]' } : {}),
  };
}

/** takes the agent's identity (or null) and the ADS side; returns { secrets: [...], waiting: [...] } for the admin API. */
export function secretsView(identity: WorkloadIdentity | null, extra: SecretsViewExtra = {}): { secrets: Record<string, unknown>[]; waiting: Record<string, unknown>[] } {
  const secrets: Record<string, unknown>[] = [];
  const sources = extra.sources ?? new Map<string, SecretSource>();
  const c = identity?.certificate ?? null;
  if (identity !== null && c !== null) {
    secrets.push({
      name: 'default', source: 'workload identity (CSR)', spiffe_id: c.spiffeId, serial_number: c.serial, last_updated: new Date(c.issuedAt).toISOString(),
      rotations: identity.rotations, request_failures: identity.failures,
      expiration_time: new Date(c.notAfter).toISOString(), cert_chain: describeAll(c.chainPem), private_key: '[redacted]',
    });
    if (sources.get('ROOTCA') !== 'ADS') {
      secrets.push({ name: 'ROOTCA', source: 'workload identity (CSR)', last_updated: new Date(c.issuedAt).toISOString(), trusted_ca: describeAll(c.rootPem) });
    }
  }
  for (const [name, h] of extra.ads ?? []) if (sources.get(name) === 'ADS') secrets.push(adsEntry(name, h));
  const waiting = (extra.wanted ?? []).filter((name) => !sources.has(name)).map((name) => ({
    name, source: 'ADS', state: 'waiting',
    warming: (extra.warming ?? []).filter((w) => w.waitingFor.includes(name)).map((w) => `${w.kind} ${w.name}`),
  }));
  return { secrets, waiting };
}
