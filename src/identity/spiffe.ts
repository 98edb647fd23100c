// SPIFFE identities as Istio writes them: spiffe://<trust-domain>/ns/<ns>/sa/<sa>.

export interface WorkloadIdentity {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** A DNS-label-like name (Kubernetes namespace / service account spelling), bounded. */
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-z0-9]([a-z0-9._-]{0,253}[a-z0-9])?$/;

/** takes a name and what it is; returns an error message, or undefined when it is a valid name. */
export function identityNameProblem(value: string, what: string): string | undefined {
  return NAME.test(value) ? undefined : `${what} "${value.slice(0, 80)}" is not a valid name (lower-case letters, digits, '-' and '.', at most 253 characters)`;
}

export function trustDomainProblem(value: string): string | undefined {
  return TRUST_DOMAIN.test(value) ? undefined : `trust domain "${value.slice(0, 80)}" is not valid (lower-case letters, digits, '.', '-', '_')`;
}

/** takes an identity; returns its SPIFFE ID. */
export function spiffeId(id: WorkloadIdentity): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** takes a URI; returns the identity it names, or undefined when it is not an Istio-shaped SPIFFE ID. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (m === null) return undefined;
  return { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
}
