// Builds and signs a workload certificate from a checked CSR, with the
// @peculiar ASN.1 schemas: empty subject, the SPIFFE URI as a critical SAN
// (Istio's shape), digitalSignature+keyEncipherment, serverAuth+clientAuth,
// CA:FALSE, the issuer's key id. The parts that never change per CA are
// built once; per certificate only the serial, validity, key and SAN vary.
import { X509Certificate, randomBytes, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AuthorityKeyIdentifier, BasicConstraints, Certificate, ExtendedKeyUsage, Extension, Extensions, GeneralName,
  KeyIdentifier, KeyUsage, KeyUsageFlags, Name, SubjectAlternativeName, TBSCertificate, Validity, Version,
  id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage, id_ce_subjectAltName,
  id_kp_clientAuth, id_kp_serverAuth,
} from '@peculiar/asn1-x509';
import type { CaMaterial } from './ca-material.js';
import type { CheckedCsr } from './csr-reader.js';

const SIGNATURE_OIDS: Record<string, { oid: string; hash: string; nullParams: boolean }> = {
  ec: { oid: '1.2.840.10045.4.3.2', hash: 'sha256', nullParams: false }, // ecdsa-with-SHA256
  rsa: { oid: '1.2.840.113549.1.1.11', hash: 'sha256', nullParams: true }, // sha256WithRSAEncryption
};

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
  private readonly signatureAlgorithm: AlgorithmIdentifier;
  private readonly hash: string;
  private readonly issuer: Name;
  private readonly fixedExtensions: Extension[];
  private readonly caNotAfter: number;

  constructor(private readonly ca: CaMaterial) {
    const kind = SIGNATURE_OIDS[ca.signingKey.asymmetricKeyType ?? ''];
    if (kind === undefined) throw new Error(`cannot sign with a ${ca.signingKey.asymmetricKeyType ?? 'unknown'} key`);
    this.signatureAlgorithm = new AlgorithmIdentifier({ algorithm: kind.oid, ...(kind.nullParams ? { parameters: null } : {}) });
    this.hash = kind.hash;
    const caCert = AsnConvert.parse(ca.signingCert.raw, Certificate);
    this.issuer = caCert.tbsCertificate.subject;
    this.caNotAfter = Date.parse(ca.signingCert.validTo);
    const ext = (id: string, critical: boolean, value: unknown): Extension =>
      new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
    this.fixedExtensions = [
      ext(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment)),
      ext(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth])),
      ext(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
    ];
    const ski = caCert.tbsCertificate.extensions?.find((e) => e.extnID === '2.5.29.14');
    if (ski !== undefined) {
      const keyId = AsnConvert.parse(ski.extnValue, KeyIdentifier);
      this.fixedExtensions.push(ext(id_ce_authorityKeyIdentifier, false, new AuthorityKeyIdentifier({ keyIdentifier: keyId })));
    }
  }

  /** takes a checked CSR, the SPIFFE ID and a lifetime; returns the signed certificate (never past the CA's own expiry). */
  sign(csr: CheckedCsr, spiffeUri: string, ttlMs: number, now = Date.now()): SignedWorkload {
    return this.signKey(csr.subjectPublicKeyInfo, [new GeneralName({ uniformResourceIdentifier: spiffeUri })], ttlMs, now);
  }

  /** takes a public key (SPKI) and names; returns a certificate for them (the control plane's own serving certificate). */
  signKey(subjectPublicKeyInfo: CheckedCsr['subjectPublicKeyInfo'], names: GeneralName[], ttlMs: number, now = Date.now()): SignedWorkload {
    const serial = randomBytes(16);
    serial[0] = (serial[0]! & 0x7f) | 0x40; // positive, no leading zero byte, 126+ random bits
    const notAfter = new Date(Math.min(now + ttlMs, this.caNotAfter));
    const san = new SubjectAlternativeName(names);
    const tbs = new TBSCertificate({
      version: Version.v3,
      serialNumber: serial.buffer.slice(serial.byteOffset, serial.byteOffset + serial.length),
      signature: this.signatureAlgorithm,
      issuer: this.issuer,
      validity: new Validity({ notBefore: new Date(now - CLOCK_SKEW_MS), notAfter }),
      subject: new Name([]),
      subjectPublicKeyInfo,
      extensions: new Extensions([
        ...this.fixedExtensions,
        // Critical: the subject is empty, so the SAN is the whole name (RFC 5280 4.2.1.6).
        new Extension({ extnID: id_ce_subjectAltName, critical: true, extnValue: new OctetString(AsnConvert.serialize(san)) }),
      ]),
    });
    const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
    const signature = sign(this.hash, tbsDer, this.ca.signingKey);
    const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: this.signatureAlgorithm, signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.length) });
    const der = Buffer.from(AsnConvert.serialize(cert));
    return { certPem: toPem(der), serial: serial.toString('hex'), notAfter };
  }

  /** takes a PEM; returns whether this CA issued it (the signature verifies with the signing key). Tests and checks only. */
  issued(certPem: string): boolean {
    return new X509Certificate(certPem).verify(this.ca.signingCert.publicKey);
  }
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}
