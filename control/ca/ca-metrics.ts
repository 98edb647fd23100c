// The CA's figures on the control plane's /metrics, in Prometheus names
// (counters end in _total): certificates issued, requests refused by
// reason (the gRPC code the proxy got), and when the signing certificate
// expires. /ca/metrics keeps Istio's citadel_* names for Istio dashboards.
import type { CertificateAuthority, RefusalCode } from './certificate-authority.js';

const REASONS: readonly RefusalCode[] = ['UNAUTHENTICATED', 'PERMISSION_DENIED', 'INVALID_ARGUMENT', 'RESOURCE_EXHAUSTED'];

const family = (name: string, type: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

/** Takes the CA; returns its block of exposition text. */
export function renderCaMetrics(ca: CertificateAuthority): string {
  let out = family('isthmus_ca_certificates_issued_total', 'counter', 'Workload certificates the CA signed.')
    + `isthmus_ca_certificates_issued_total ${ca.issuedTotal}\n`
    + family('isthmus_ca_csr_refusals_total', 'counter', 'Certificate requests refused, by reason (the gRPC status: UNAUTHENTICATED for a bad or missing bootstrap token, PERMISSION_DENIED for another identity, INVALID_ARGUMENT for a bad CSR, RESOURCE_EXHAUSTED when rate limited).');
  for (const reason of REASONS) out += `isthmus_ca_csr_refusals_total{reason="${reason}"} ${ca.refusalsByCode.get(reason) ?? 0}\n`;
  const expires = Date.parse(ca.material.signingCert.validTo);
  if (Number.isFinite(expires)) {
    out += family('isthmus_ca_signing_cert_expiry_timestamp_seconds', 'gauge', 'When the CA\'s signing certificate expires (Unix time).')
      + `isthmus_ca_signing_cert_expiry_timestamp_seconds ${Math.floor(expires / 1000)}\n`;
  }
  return out;
}
