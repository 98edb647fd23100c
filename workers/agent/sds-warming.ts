// Which SDS secrets the proxy's TLS contexts get from where, and what waits
// for one that has not arrived. As Envoy with istio-agent: `default` (the
// workload certificate and key) only ever comes from the agent's own
// identity, whose key never leaves the process; every other name (ROOTCA
// included) comes from the ADS stream when the control plane sent it, else
// from the identity's CSR answer. A listener or cluster whose TLS context
// names a secret that is missing is held back (warming) until it arrives:
// never served without its certificate, never plaintext in its place.
import type { Bootstrap, CommonTls } from '../../src/config/bootstrap-types.js';
import { ROOT_CA_SECRET, WORKLOAD_CERT_SECRET, type SdsSecret, type SdsSecrets } from '../../src/config/sds-secrets.js';

export type SecretSource = 'workload identity (CSR)' | 'ADS';

/** takes the identity's secrets and those accepted over ADS; returns what the data plane uses, with each one's source. */
export function mergeSecrets(identity: SdsSecrets, ads: SdsSecrets): { secrets: SdsSecrets; sources: Map<string, SecretSource> } {
  const secrets: Record<string, SdsSecret> = {};
  const sources = new Map<string, SecretSource>();
  for (const [name, s] of Object.entries(ads)) {
    if (name === WORKLOAD_CERT_SECRET) continue; // a key the control plane cannot own
    secrets[name] = s;
    sources.set(name, 'ADS');
  }
  for (const [name, s] of Object.entries(identity)) {
    if (name === ROOT_CA_SECRET && Object.hasOwn(secrets, name)) continue; // the control plane's bundle is the current one
    secrets[name] = s;
    sources.set(name, 'workload identity (CSR)');
  }
  return { secrets, sources };
}

/** The names the proxy asks the control plane for: every referenced name but `default` when the agent makes it. */
export function adsSecretNames(referenced: readonly string[], hasIdentity: boolean): string[] {
  return referenced.filter((n) => !(hasIdentity && n === WORKLOAD_CERT_SECRET));
}

export interface Warming {
  readonly kind: 'listener' | 'cluster';
  readonly name: string;
  readonly waitingFor: readonly string[];
}

function missingOf(tls: CommonTls | null, secrets: SdsSecrets): string[] {
  if (tls === null) return [];
  const out: string[] = [];
  for (const name of [tls.certificateSecret, tls.validationSecret]) {
    if (name !== undefined && !Object.hasOwn(secrets, name) && !out.includes(name)) out.push(name);
  }
  return out;
}

/** takes a config and the secrets at hand; returns it without the listeners and clusters still waiting for one. */
export function withoutWarming(bootstrap: Bootstrap, secrets: SdsSecrets): { bootstrap: Bootstrap; warming: Warming[] } {
  const warming: Warming[] = [];
  const listeners = bootstrap.listeners.filter((l) => {
    const waitingFor = [...new Set(l.filterChains.flatMap((c) => missingOf(c.tls, secrets)))];
    if (waitingFor.length > 0) warming.push({ kind: 'listener', name: l.name, waitingFor });
    return waitingFor.length === 0;
  });
  const clusters = bootstrap.clusters.filter((c) => {
    const waitingFor = missingOf(c.tls, secrets);
    if (waitingFor.length > 0) warming.push({ kind: 'cluster', name: c.name, waitingFor });
    return waitingFor.length === 0;
  });
  if (warming.length === 0) return { bootstrap, warming };
  return { bootstrap: { ...bootstrap, listeners, clusters }, warming };
}
