// Reads a PKCS#10 CSR PEM as a peer sent it: bounded, parsed with the
// @peculiar ASN.1 schemas, its self-signature checked with Node's crypto, its
// key type checked against what the CA signs. Every refusal is a CsrError
// whose message says what was wrong; nothing a peer sends can throw anything else.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificationRequest } from '@peculiar/asn1-csr';
import { ECParameters } from '@peculiar/asn1-ecc';
import { Extensions, SubjectAlternativeName, id_ce_subjectAltName } from '@peculiar/asn1-x509';

/** A CSR PEM longer than this is refused unread (a P-256 CSR is ~500 bytes, an RSA-4096 one ~1.8 KB). */
export const MAX_CSR_PEM_BYTES = 16 * 1024;

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
  extensionRequest: '1.2.840.113549.1.9.14',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  rsaSha256: '1.2.840.113549.1.1.11',
  rsaSha384: '1.2.840.113549.1.1.12',
  rsaSha512: '1.2.840.113549.1.1.13',
} as const;

const SIGNATURE_HASH: Record<string, string> = {
  [OID.ecdsaSha256]: 'sha256', [OID.ecdsaSha384]: 'sha384',
  [OID.rsaSha256]: 'sha256', [OID.rsaSha384]: 'sha384', [OID.rsaSha512]: 'sha512',
};

export class CsrError extends Error {
  override readonly name = 'CsrError';
}

export interface CheckedCsr {
  /** The requested key, to go into the certificate as is. */
  readonly subjectPublicKeyInfo: CertificationRequest['certificationRequestInfo']['subjectPKInfo'];
  /** URI subject-alt-names the CSR asks for (the CA checks them against the caller's identity). */
  readonly uriSans: readonly string[];
  /** e.g. "ECDSA P-256", for logs. */
  readonly keyType: string;
}

function base64Body(pem: string): Buffer {
  const m = /^\s*-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END (?:NEW )?CERTIFICATE REQUEST-----\s*$/.exec(pem);
  if (m === null) throw new CsrError('the CSR is not one PEM "CERTIFICATE REQUEST" block');
  return Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
}

/** The key inside, or a CsrError: ECDSA P-256/P-384 or RSA 2048-4096 bits (what Istio's CA accepts). */
function publicKeyOf(csr: CertificationRequest): { key: KeyObject; keyType: string } {
  const spki = csr.certificationRequestInfo.subjectPKInfo;
  const alg = spki.algorithm.algorithm;
  if (alg === OID.ecPublicKey) {
    const params = spki.algorithm.parameters === null || spki.algorithm.parameters === undefined
      ? undefined : AsnConvert.parse(spki.algorithm.parameters, ECParameters).namedCurve;
    const bits = new Uint8Array(spki.subjectPublicKey);
    const size = params === OID.p256 ? 32 : params === OID.p384 ? 48 : 0;
    if (size === 0) throw new CsrError(`the CSR's EC key is on curve ${params ?? '(none)'}; the CA signs P-256 and P-384 keys only`);
    if (bits.length !== 1 + 2 * size || bits[0] !== 4) throw new CsrError('the CSR\'s EC public key is not an uncompressed point of its curve');
    const jwk = {
      kty: 'EC', crv: size === 32 ? 'P-256' : 'P-384',
      x: Buffer.from(bits.subarray(1, 1 + size)).toString('base64url'), y: Buffer.from(bits.subarray(1 + size)).toString('base64url'),
    };
    try {
      return { key: createPublicKey({ key: jwk, format: 'jwk' }), keyType: `ECDSA ${jwk.crv}` };
    } catch {
      throw new CsrError('the CSR\'s EC public key is not a point on its curve');
    }
  }
  if (alg === OID.rsaEncryption) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: Buffer.from(AsnConvert.serialize(spki)), format: 'der', type: 'spki' });
    } catch {
      throw new CsrError('the CSR\'s RSA public key cannot be read');
    }
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048 || bits > 4096) throw new CsrError(`the CSR's RSA key has ${bits} bits; the CA signs RSA keys of 2048 to 4096 bits`);
    return { key, keyType: `RSA ${bits}` };
  }
  throw new CsrError(`the CSR's key algorithm ${alg} is not supported (ECDSA P-256/P-384 or RSA 2048-4096)`);
}

function requestedUriSans(csr: CertificationRequest): string[] {
  const out: string[] = [];
  for (const attr of csr.certificationRequestInfo.attributes ?? []) {
    if (attr.type !== OID.extensionRequest) continue;
    for (const value of attr.values) {
      const extensions = AsnConvert.parse(value, Extensions);
      for (const ext of extensions) {
        if (ext.extnID !== id_ce_subjectAltName) continue;
        const san = AsnConvert.parse(ext.extnValue, SubjectAlternativeName);
        for (const name of san) {
          if (name.uniformResourceIdentifier !== undefined) out.push(name.uniformResourceIdentifier);
          else throw new CsrError('the CSR asks for a subject-alt-name that is not a URI (the CA issues SPIFFE URI SANs only)');
        }
      }
    }
  }
  return out;
}

/** takes the PEM a peer sent; returns the checked request, or throws CsrError saying what is wrong. */
export function readCsr(pem: unknown): CheckedCsr {
  if (typeof pem !== 'string' || pem.length === 0) throw new CsrError('the request has no CSR');
  if (pem.length > MAX_CSR_PEM_BYTES) throw new CsrError(`the CSR is ${pem.length} bytes; at most ${MAX_CSR_PEM_BYTES} are accepted`);
  const der = base64Body(pem);
  let csr: CertificationRequest;
  try {
    csr = AsnConvert.parse(der, CertificationRequest);
  } catch (err) {
    throw new CsrError(`the CSR is not a valid PKCS#10 request: ${(err as Error).message.slice(0, 200)}`);
  }
  const { key, keyType } = publicKeyOf(csr);
  const hash = SIGNATURE_HASH[csr.signatureAlgorithm.algorithm];
  if (hash === undefined) throw new CsrError(`the CSR is signed with ${csr.signatureAlgorithm.algorithm}, which the CA does not accept (ECDSA or RSA PKCS#1 with SHA-256/384/512)`);
  const info = csr.certificationRequestInfoRaw;
  if (info === undefined) throw new CsrError('the CSR cannot be read (no request info)');
  let ok = false;
  try {
    ok = verify(hash, new Uint8Array(info), key, new Uint8Array(csr.signature));
  } catch {
    ok = false;
  }
  if (!ok) throw new CsrError('the CSR\'s signature does not verify with its own key (proof of possession failed)');
  let uriSans: string[];
  try {
    uriSans = requestedUriSans(csr);
  } catch (err) {
    if (err instanceof CsrError) throw err;
    throw new CsrError(`the CSR's extension request cannot be read: ${(err as Error).message.slice(0, 200)}`);
  }
  return { subjectPublicKeyInfo: csr.certificationRequestInfo.subjectPKInfo, uriSans, keyType };
}
