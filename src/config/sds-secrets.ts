// SDS secrets (extensions.transport_sockets.tls.v3.Secret) and how TLS
// contexts that name them get their PEMs. Three sources, as in Envoy with
// istio-agent beside it: static_resources.secrets (read with the bootstrap),
// the agent's own workload identity (`default`: certificate and key, `ROOTCA`:
// the trust bundle, like istio-agent's local SDS), and Secrets sent over ADS.
// The agent's secrets never go into the stored config: the data plane fills
// them in where it builds its TLS contexts, from what the agent sent it.
import type { Bootstrap, CommonTls, TlsCertificate } from './bootstrap-types.js';
import { readCertificate, readDataSource } from './tls-context.js';
import type { ValueReader } from './yaml-reader.js';

/** Names istio-agent serves from the workload's own identity. */
export const WORKLOAD_CERT_SECRET = 'default';
export const ROOT_CA_SECRET = 'ROOTCA';

export interface SdsSecret {
  readonly name: string;
  readonly certificate?: TlsCertificate;
  readonly trustedCaPem?: string;
  readonly trustedCaPath?: string | null;
}

/** Secrets by name. */
export type SdsSecrets = Readonly<Record<string, SdsSecret>>;

/** takes one Secret resource; returns it, or undefined after reporting its problems. */
export function readSecret(v: ValueReader): SdsSecret | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.nonEmptyString();
  const which = obj.oneOf(['tls_certificate', 'validation_context'], true);
  let secret: SdsSecret | undefined;
  if (which === 'tls_certificate') {
    const certificate = readCertificate(obj.field('tls_certificate'));
    if (certificate !== undefined && name !== undefined) secret = { name, certificate };
  } else if (which === 'validation_context') {
    const vc = obj.field('validation_context').object();
    if (vc !== undefined) {
      const caField = vc.field('trusted_ca');
      caField.require();
      const ca = readDataSource(caField);
      vc.done();
      if (ca !== undefined && name !== undefined) secret = { name, trustedCaPem: ca.text, trustedCaPath: ca.path };
    }
  }
  obj.done();
  return secret;
}

/** The context with the secrets it names filled in (and those names dropped); names not in `secrets` go to `missing`. */
function resolveCommon<T extends CommonTls>(tls: T, secrets: SdsSecrets, missing: Set<string>): T {
  let out: T = tls;
  if (tls.certificateSecret !== undefined) {
    const s = Object.hasOwn(secrets, tls.certificateSecret) ? secrets[tls.certificateSecret] : undefined;
    if (s?.certificate !== undefined) {
      const { certificateSecret: _, ...rest } = out;
      out = { ...rest, certificates: [s.certificate] } as unknown as T;
    } else missing.add(tls.certificateSecret);
  }
  if (tls.validationSecret !== undefined) {
    const s = Object.hasOwn(secrets, tls.validationSecret) ? secrets[tls.validationSecret] : undefined;
    if (s?.trustedCaPem !== undefined) {
      const { validationSecret: _, ...rest } = out;
      out = { ...rest, trustedCaPem: s.trustedCaPem, trustedCaPath: s.trustedCaPath ?? null } as unknown as T;
    } else missing.add(tls.validationSecret);
  }
  return out;
}

/**
 * takes a config and secrets; returns the config with every TLS context that names one of them filled in,
 * and the names it needed but `secrets` did not have.
 */
export function resolveSdsSecrets(bootstrap: Bootstrap, secrets: SdsSecrets): { bootstrap: Bootstrap; missing: string[] } {
  const missing = new Set<string>();
  const anySds = (t: CommonTls | null): boolean => t !== null && (t.certificateSecret !== undefined || t.validationSecret !== undefined);
  if (!bootstrap.listeners.some((l) => l.filterChains.some((c) => anySds(c.tls))) && !bootstrap.clusters.some((c) => anySds(c.tls))) {
    return { bootstrap, missing: [] };
  }
  const listeners = bootstrap.listeners.map((l) => (l.filterChains.some((c) => anySds(c.tls))
    ? { ...l, filterChains: l.filterChains.map((c) => (c.tls === null ? c : { ...c, tls: resolveCommon(c.tls, secrets, missing) })) }
    : l));
  const clusters = bootstrap.clusters.map((c) => (c.tls !== null && anySds(c.tls) ? { ...c, tls: resolveCommon(c.tls, secrets, missing) } : c));
  return { bootstrap: { ...bootstrap, listeners, clusters }, missing: [...missing].sort() };
}

/** Every SDS secret name the config's TLS contexts use. */
export function sdsSecretNames(bootstrap: Bootstrap): string[] {
  const names = new Set<string>();
  const add = (t: CommonTls | null): void => {
    if (t?.certificateSecret !== undefined) names.add(t.certificateSecret);
    if (t?.validationSecret !== undefined) names.add(t.validationSecret);
  };
  for (const l of bootstrap.listeners) for (const c of l.filterChains) add(c.tls);
  for (const c of bootstrap.clusters) add(c.tls);
  return [...names].sort();
}
