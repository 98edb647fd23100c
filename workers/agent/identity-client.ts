// The agent's side of Istio's certificate service: a CSR for the identity
// the bootstrap token names, signed with a key made here and kept in memory
// only, sent with `authorization: Bearer TOKEN` to the control plane (over
// TLS when the operator gave its root with --control-ca).
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { certificateServiceDefinition, type IstioCertificateResponse } from '../../src/xds/ca-protos.js';
import { ECDSA_P256, loadX509 } from '../../src/identity/x509.js';
import { readTokenClaims, type TokenClaims } from '../../src/identity/token-claims.js';
import { spiffeId } from '../../src/identity/spiffe.js';
import { controlChannelOptions } from '../../src/xds/control-server-name.js';

const MAX_TOKEN_FILE_BYTES = 8192;
const CALL_TIMEOUT_MS = 15_000;

export interface IssuedCertificate {
  /** The workload certificate, then the intermediates (no root): what the TLS engine presents. */
  readonly chainPem: string;
  /** PKCS#8 PEM of the key made for it: in memory only. */
  readonly keyPem: string;
  /** The trust bundle: the last certificate of the chain the CA returned. */
  readonly rootPem: string;
  readonly spiffeId: string;
}

export class IdentityRequestError extends Error {
  override readonly name = 'IdentityRequestError';
}

/** takes a token file path; returns the token and its claims, or throws naming what is wrong. */
export function readTokenFile(path: string): { token: string; claims: TokenClaims } {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > MAX_TOKEN_FILE_BYTES) throw new IdentityRequestError(`--token-file ${path}: larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
    text = buf.toString('utf8').trim();
  } catch (err) {
    if (err instanceof IdentityRequestError) throw err;
    throw new IdentityRequestError(`--token-file ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const claims = readTokenClaims(text);
  if (claims === undefined) throw new IdentityRequestError(`--token-file ${path}: not an Isthmus bootstrap token (make one with \`isthmus token create\`)`);
  return { token: text, claims };
}

/** takes a token file path; returns gRPC metadata carrying its token (read now: an operator may replace the file), or throws naming what is wrong. */
export function bearerMetadata(tokenFile: string): Metadata {
  return tokenMetadata(readTokenFile(tokenFile).token);
}

/** takes a bootstrap token; returns gRPC metadata carrying it as `authorization: Bearer` (CSRs and the ADS stream). */
function tokenMetadata(token: string): Metadata {
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/** takes --control-ca's path (or null); returns the channel credentials for the control plane. */
export function controlCredentials(controlCaPath: string | null): ChannelCredentials {
  if (controlCaPath === null) return credentials.createInsecure();
  return credentials.createSsl(readFileSync(controlCaPath));
}

/**
 * What a proxy or agent trusts for the control plane's TLS port, for each new connection: --control-ca's
 * roots (re-read, so an updated root-cert.pem counts; the last readable copy otherwise) plus the trust
 * bundle of the last certificate answer (it came over a verified connection). A root rotation's new
 * root is learnt at the renewal during its first phase, so the connection after `ca retire-old`, when
 * the control plane serves a certificate under the new root only, still verifies.
 */
export class ControlTrust {
  private fileRoots: string;
  private learnt = '';

  /** takes --control-ca's path (or null: plaintext); reads it now (throws when unreadable at start). */
  constructor(private readonly path: string | null) {
    this.fileRoots = path === null ? '' : readFileSync(path, 'utf8');
  }

  /** takes the trust bundle a certificate answer carried; later connections trust it too. */
  learn(bundlePem: string): void {
    this.learnt = bundlePem;
  }

  /** returns the channel credentials for one new connection. */
  credentials(): ChannelCredentials {
    if (this.path === null) return credentials.createInsecure();
    try {
      this.fileRoots = readFileSync(this.path, 'utf8');
    } catch {
      // Keep the last readable copy (the file may be replaced or briefly missing).
    }
    return credentials.createSsl(Buffer.from(this.fileRoots + this.learnt));
  }
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** takes where the CA is, how to reach it, the token and the lifetime to ask for; returns a new certificate and key. */
export async function requestWorkloadCertificate(o: {
  target: string; credentials: ChannelCredentials; token: string; claims: TokenClaims; ttlSeconds: number;
}): Promise<IssuedCertificate> {
  const x509 = await loadX509();
  const id = spiffeId({ trustDomain: o.claims.td, namespace: o.claims.ns, serviceAccount: o.claims.sa });
  const keys = await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys, signingAlgorithm: ECDSA_P256, extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }])],
  });
  const keyPem = pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const def = certificateServiceDefinition().CreateCertificate!;
  const client = new Client(o.target, o.credentials, { 'grpc.use_local_subchannel_pool': 1, ...controlChannelOptions(o.target) });
  const md = tokenMetadata(o.token);
  try {
    const response = await new Promise<IstioCertificateResponse>((resolve, reject) => {
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize,
        { csr: csr.toString('pem'), validity_duration: o.ttlSeconds }, md, { deadline: Date.now() + CALL_TIMEOUT_MS },
        (err: ServiceError | null, value?: unknown) => {
          if (err !== null) reject(new IdentityRequestError(`the CA at ${o.target} refused or failed: ${err.details || err.message}`));
          else resolve(value as IstioCertificateResponse);
        });
    });
    const chain = response.cert_chain ?? [];
    if (chain.length < 2) throw new IdentityRequestError(`the CA at ${o.target} answered ${chain.length} certificates; expected the workload certificate and the chain to the root`);
    return { chainPem: chain.slice(0, -1).join(''), keyPem, rootPem: chain[chain.length - 1]!, spiffeId: id };
  } finally {
    client.close();
  }
}
