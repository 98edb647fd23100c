// A test's own client of the control plane's certificate service (grpc-js
// over TLS, or plaintext on the loopback port) and CSRs made with
// @peculiar/x509: real requests, as a proxy or `isthmus agent` sends them.
import { credentials, Client, Metadata, type ServiceError } from '@grpc/grpc-js';
import { webcrypto } from 'node:crypto';
import { certificateServiceDefinition, type IstioCertificateResponse } from '../../src/xds/ca-protos.js';
import { ECDSA_P256, loadX509 } from '../../src/identity/x509.js';

export interface CaAnswer {
  readonly chain?: readonly string[];
  readonly code?: number;
  readonly details?: string;
}

/** takes where and how to call; returns the chain or the gRPC error code and message. */
export async function requestCertificate(o: {
  port: number; rootPem?: string; bearer?: string; csr: string; ttlSeconds?: number;
}): Promise<CaAnswer> {
  const def = certificateServiceDefinition();
  const creds = o.rootPem === undefined ? credentials.createInsecure() : credentials.createSsl(Buffer.from(o.rootPem));
  const client = new Client(`127.0.0.1:${o.port}`, creds, o.rootPem === undefined ? {} : { 'grpc.ssl_target_name_override': 'localhost' });
  const md = new Metadata();
  if (o.bearer !== undefined) md.set('authorization', `Bearer ${o.bearer}`);
  const method = def.CreateCertificate!;
  try {
    return await new Promise<CaAnswer>((resolve) => {
      client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize,
        { csr: o.csr, validity_duration: o.ttlSeconds ?? 0 }, md, { deadline: Date.now() + 10_000 },
        (err: ServiceError | null, value?: unknown) => {
          if (err !== null) resolve({ code: err.code, details: err.details });
          else resolve({ chain: (value as IstioCertificateResponse).cert_chain });
        });
    });
  } finally {
    client.close();
  }
}

/** takes the URI SANs to ask for; returns a CSR PEM for a new P-256 key (or the key type given). */
export async function makeCsr(uris: readonly string[], algorithm: EcKeyGenParams & { hash?: string } | RsaHashedKeyGenParams = ECDSA_P256): Promise<string> {
  const x509 = await loadX509();
  const alg = { ...algorithm, hash: 'SHA-256' } as never;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys, signingAlgorithm: alg,
    extensions: uris.length === 0 ? [] : [new x509.SubjectAlternativeNameExtension(uris.map((value) => ({ type: 'url' as const, value })))],
  });
  return csr.toString('pem');
}
