// Reads a PKCS#10 CSR PEM as a peer sent it: bounded, parsed and its
// self-signature checked by OpenSSL in the addon (native/x509_csr.cc), its
// key type and names checked here against what the CA signs. Every refusal
// is a CsrError whose message says what was wrong; nothing a peer sends can
// throw anything else.
import { x509ReadCsr, x509VerifyCsr, type CsrFacts, type CsrHandle } from '../../src/native.js';

/** A CSR PEM longer than this is refused unread (a P-256 CSR is ~500 bytes, an RSA-4096 one ~1.8 KB). */
export const MAX_CSR_PEM_BYTES = 16 * 1024;
/** A CSR asking for more subject-alt-names than this is refused (a workload asks for one). */
export const MAX_CSR_SANS = 16;

const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  p256: '1.2.840.10045.3.1.7',
  p384: '1.3.132.0.34',
} as const;

/** Signature algorithms the CA accepts on a CSR: ECDSA or RSA PKCS#1 with SHA-256/384/512. */
const ACCEPTED_SIGNATURES = new Set([
  '1.2.840.10045.4.3.2', '1.2.840.10045.4.3.3', // ecdsa-with-SHA256/384
  '1.2.840.113549.1.1.11', '1.2.840.113549.1.1.12', '1.2.840.113549.1.1.13', // sha256/384/512WithRSAEncryption
]);

export class CsrError extends Error {
  override readonly name = 'CsrError';
}

export interface CheckedCsr {
  /** The parsed request: its key goes into the certificate as is (WorkloadSigner.sign). */
  readonly csr: CsrHandle;
  /** URI subject-alt-names the CSR asks for (the CA checks them against the caller's identity). */
  readonly uriSans: readonly string[];
  /** e.g. "ECDSA P-256", for logs. */
  readonly keyType: string;
}

/** The key's type for logs, or a CsrError: ECDSA P-256/P-384 or RSA 2048-4096 bits (what Istio's CA accepts). */
function keyTypeOf(facts: CsrFacts): string {
  if (facts.keyAlgorithm === OID.ecPublicKey) {
    const curve = facts.curve === OID.p256 ? 'P-256' : facts.curve === OID.p384 ? 'P-384' : null;
    if (curve === null) throw new CsrError(`the CSR's EC key is on curve ${facts.curve === '' ? '(none)' : facts.curve}; the CA signs P-256 and P-384 keys only`);
    if (!facts.ecPointUncompressed) throw new CsrError('the CSR\'s EC public key is not an uncompressed point of its curve');
    if (!facts.keyLoaded) throw new CsrError('the CSR\'s EC public key is not a point on its curve');
    return `ECDSA ${curve}`;
  }
  if (facts.keyAlgorithm === OID.rsaEncryption) {
    if (!facts.keyLoaded) throw new CsrError('the CSR\'s RSA public key cannot be read');
    const bits = facts.keyBits;
    if (bits < 2048 || bits > 4096) throw new CsrError(`the CSR's RSA key has ${bits} bits; the CA signs RSA keys of 2048 to 4096 bits`);
    return `RSA ${bits}`;
  }
  throw new CsrError(`the CSR's key algorithm ${facts.keyAlgorithm} is not supported (ECDSA P-256/P-384 or RSA 2048-4096)`);
}

/** takes the PEM a peer sent; returns the checked request, or throws CsrError saying what is wrong. */
export function readCsr(pem: unknown): CheckedCsr {
  if (typeof pem !== 'string' || pem.length === 0) throw new CsrError('the request has no CSR');
  if (pem.length > MAX_CSR_PEM_BYTES) throw new CsrError(`the CSR is ${pem.length} bytes; at most ${MAX_CSR_PEM_BYTES} are accepted`);
  let facts: CsrFacts;
  try {
    facts = x509ReadCsr(pem);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_CSR_INVALID') throw new CsrError((err as Error).message);
    throw err;
  }
  const keyType = keyTypeOf(facts);
  if (!ACCEPTED_SIGNATURES.has(facts.signatureAlgorithm)) {
    throw new CsrError(`the CSR is signed with ${facts.signatureAlgorithm}, which the CA does not accept (ECDSA or RSA PKCS#1 with SHA-256/384/512)`);
  }
  // Only now, with key and algorithm accepted: no work is spent on a key the CA would refuse anyway.
  if (!x509VerifyCsr(facts.csr)) throw new CsrError('the CSR\'s signature does not verify with its own key (proof of possession failed)');
  if (facts.extensionError !== '') throw new CsrError(`the CSR's extension request cannot be read: ${facts.extensionError}`);
  if (facts.otherSans > 0) throw new CsrError('the CSR asks for a subject-alt-name that is not a URI (the CA issues SPIFFE URI SANs only)');
  if (facts.uriSans.length > MAX_CSR_SANS) throw new CsrError(`the CSR asks for ${facts.uriSans.length} subject-alt-names; at most ${MAX_CSR_SANS} are accepted`);
  return { csr: facts.csr, uriSans: facts.uriSans, keyType };
}
