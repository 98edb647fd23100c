// The admin /certs view in Envoy's shape (envoy.admin.v3.Certificates): per
// TLS context of the active config, its trusted CAs (ca_cert) and its
// certificates (cert_chain) with path, serial, SANs and validity. Read from
// the PEM text through the TLS engine; key material never leaves it.
import type { Bootstrap, CommonTls } from '../../src/config/bootstrap-types.js';
import { engineConfig } from '../../src/config/tls-context.js';
import { tlsContextCertificates, tlsCreateContext, type TlsCertificateInfo } from '../../src/native.js';

type Json = Record<string, unknown>;

function details(info: TlsCertificateInfo, path: string | null, now: number): Json {
  return {
    path: path ?? '<inline>',
    serial_number: info.serial,
    subject_alt_names: [...info.dnsSans.map((dns) => ({ dns })), ...info.uriSans.map((uri) => ({ uri }))],
    days_until_expiration: String(Math.max(0, Math.floor((info.notAfter * 1000 - now) / 86_400_000))),
    valid_from: new Date(info.notBefore * 1000).toISOString(),
    expiration_time: new Date(info.notAfter * 1000).toISOString(),
  };
}

function contextEntry(common: CommonTls, server: boolean, now: number): Json | null {
  let listed;
  try {
    listed = tlsContextCertificates(tlsCreateContext(engineConfig(common, server, false)));
  } catch {
    return null; // cannot happen for an accepted config (the reader built it once)
  }
  return {
    ca_cert: listed.trustedCas.map((c) => details(c, common.trustedCaPath, now)),
    cert_chain: listed.certificates.map((c, i) => details(c, common.certificates[i]?.chainPath ?? null, now)),
  };
}

/** takes the active bootstrap; returns { certificates: [...] } as Envoy's /certs. */
export function certsView(bootstrap: Bootstrap | undefined, now = Date.now()): { certificates: Json[] } {
  const certificates: Json[] = [];
  for (const l of bootstrap?.listeners ?? []) {
    for (const chain of l.filterChains) {
      const entry = chain.tls === null ? null : contextEntry(chain.tls, true, now);
      if (entry !== null) certificates.push(entry);
    }
  }
  for (const c of bootstrap?.clusters ?? []) {
    const entry = c.tls === null ? null : contextEntry(c.tls, false, now);
    if (entry !== null) certificates.push(entry);
  }
  return { certificates };
}

/** A config value with every private key's text replaced by "[redacted]" (as Envoy's config dump does). */
export function redactPrivateKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactPrivateKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'keyPem' && typeof v === 'string') out[k] = '[redacted]';
    else if (k === 'private_key' && v !== null && typeof v === 'object' && !('filename' in v)) out[k] = { inline_string: '[redacted]' };
    else out[k] = redactPrivateKeys(v);
  }
  return out;
}
