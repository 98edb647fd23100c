// Builds and signs workload certificates from checked CSRs, in OpenSSL
// through the addon (native/x509_issue.cc): empty subject, the SPIFFE URI as
// a critical SAN (Istio's shape), keyUsage digitalSignature+keyEncipherment,
// serverAuth+clientAuth, CA:FALSE, the issuer's key id; ECDSA-SHA256 or
// RSA-SHA256 by the CA key's type. One native signer per CA key: a rotated
// root gets a new WorkloadSigner. Per certificate only the serial, validity,
// key and SAN vary.
import { X509Certificate, randomBytes } from 'node:crypto';
import { X509Signer, type CsrHandle, type X509SignerInstance } from '../../src/native.js';
import type { CaMaterial } from './ca-material.js';
import type { CheckedCsr } from './csr-reader.js';

/** Backdating of notBefore, for peers whose clocks run a little behind. */
const CLOCK_SKEW_MS = 60_000;

export interface SignedWorkload {
  /** PEM of the new certificate. */
  readonly certPem: string;
  /** The serial as lower-case hex. */
  readonly serial: string;
  readonly notAfter: Date;
}

export class WorkloadSigner {
  private readonly native: X509SignerInstance;
  private readonly caNotAfter: number;

  constructor(private readonly ca: CaMaterial) {
    const type = ca.signingKey.asymmetricKeyType;
    if (type !== 'ec' && type !== 'rsa') throw new Error(`cannot sign with a ${type ?? 'unknown'} key`);
    this.native = new X509Signer(ca.signingCertPem, ca.signingKey.export({ type: 'pkcs8', format: 'pem' }));
    this.caNotAfter = Date.parse(ca.signingCert.validTo);
  }

  /** takes a checked CSR, the SPIFFE ID and a lifetime; returns the signed certificate (never past the CA's own expiry). */
  sign(csr: CheckedCsr, spiffeUri: string, ttlMs: number, now = Date.now()): SignedWorkload {
    return this.issue(csr.csr, [`URI:${spiffeUri}`], ttlMs, now);
  }

  /** takes a public key (SPKI DER) and names ("DNS:x", "IP:x", "URI:x"); returns a certificate for them (the control plane's own serving certificate). */
  signKey(subjectPublicKeyInfo: Buffer, names: readonly string[], ttlMs: number, now = Date.now()): SignedWorkload {
    return this.issue(subjectPublicKeyInfo, names, ttlMs, now);
  }

  private issue(key: CsrHandle | Buffer, names: readonly string[], ttlMs: number, now: number): SignedWorkload {
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, no leading zero byte, 126+ random bits
    const notAfter = new Date(Math.min(now + ttlMs, this.caNotAfter));
    const certPem = this.native.issue(key, names, now - CLOCK_SKEW_MS, notAfter.getTime(), serial);
    return { certPem, serial: serial.toString('hex'), notAfter };
  }

  /** takes a PEM; returns whether this CA issued it (the signature verifies with the signing key). Tests and checks only. */
  issued(certPem: string): boolean {
    return new X509Certificate(certPem).verify(this.ca.signingCert.publicKey);
  }
}
