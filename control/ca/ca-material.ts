// What the CA signs with: its own self-signed root (ECDSA P-256, 10 years,
// made on first start and kept in the control plane's LMDB), or an
// operator's CA (Istio's plug-in cacerts: a signing certificate and key, and
// the chain up to the root), checked before anything is served.
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ECDSA_P256, loadX509, pemBlocks } from '../../src/identity/x509.js';

export interface CaMaterial {
  /** The certificate that signs workload certificates (the root, or the operator's intermediate). */
  readonly signingCert: X509Certificate;
  readonly signingCertPem: string;
  readonly signingKey: KeyObject;
  /** What follows a workload certificate in its chain: the signing certificate, intermediates, the root last. */
  readonly chainPems: readonly string[];
  /** The trust bundle: the root certificate. */
  readonly rootPem: string;
  readonly source: 'self-signed' | 'operator';
}

export class CaMaterialError extends Error {
  override readonly name = 'CaMaterialError';
}

export const ROOT_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;
const MAX_CA_FILE_BYTES = 1024 * 1024;

/** The root made on first start, in the form stored in LMDB. */
export interface StoredRoot {
  readonly certPem: string;
  readonly keyPem: string;
  readonly createdAt: string;
}

/**
 * takes the root's serial and creation time; returns its CN. Each root gets its own subject: during a
 * rotation two roots are trusted at once, and two with one subject make OpenSSL pick an issuer by name
 * and fail on the wrong one ("self-signed certificate in certificate chain").
 */
export function rootCommonName(serial: Buffer, now: number): string {
  return `Isthmus Root CA ${new Date(now).toISOString().slice(0, 10)} ${serial.subarray(0, 4).toString('hex')}`;
}

/** takes the trust domain; returns a new self-signed root (ECDSA P-256, 10 years) and its PKCS#8 key. */
export async function createSelfSignedRoot(trustDomain: string, now = Date.now()): Promise<StoredRoot> {
  const x509 = await loadX509();
  const { webcrypto } = await import('node:crypto');
  const keys = await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: [{ O: [trustDomain] }, { CN: [rootCommonName(serial, now)] }],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ROOT_LIFETIME_MS),
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem') + '\n', keyPem, createdAt: new Date(now).toISOString() };
}

function readPemFile(path: string, option: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    throw new CaMaterialError(`${option} ${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (buf.length > MAX_CA_FILE_BYTES) throw new CaMaterialError(`${option} ${path}: larger than ${MAX_CA_FILE_BYTES} bytes`);
  return buf.toString('utf8');
}

function parseCert(pem: string, where: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new CaMaterialError(`${where}: not a PEM certificate (${(err as Error).message})`);
  }
}

const selfSigned = (c: X509Certificate): boolean => c.subject === c.issuer && c.verify(c.publicKey);

/**
 * takes a signing certificate with its key and the certificates above it; returns the checked material:
 * the key matches, each certificate is a CA signed by the next, the last is a self-signed root, none expired.
 */
export function checkCaMaterial(certPem: string, keyPem: string, chainText: string, source: CaMaterial['source'], where: { cert: string; key: string; chain: string }, now = Date.now()): CaMaterial {
  const certBlocks = pemBlocks(certPem, 'CERTIFICATE');
  if (certBlocks.length === 0) throw new CaMaterialError(`${where.cert}: no PEM certificate in it`);
  const signingCertPem = certBlocks[0]!;
  const signingCert = parseCert(signingCertPem, where.cert);
  let signingKey: KeyObject;
  try {
    signingKey = createPrivateKey(keyPem);
  } catch (err) {
    throw new CaMaterialError(`${where.key}: not a PEM private key (${(err as Error).message})`);
  }
  if (!signingCert.checkPrivateKey(signingKey)) throw new CaMaterialError(`${where.key}: the key does not belong to the certificate in ${where.cert}`);
  if (signingKey.asymmetricKeyType !== 'ec' && signingKey.asymmetricKeyType !== 'rsa') {
    throw new CaMaterialError(`${where.key}: a ${signingKey.asymmetricKeyType ?? 'unknown'} key; the CA signs with EC or RSA keys`);
  }
  // The chain: the rest of the cert file, then the chain file; the signing certificate itself may be repeated there.
  const above: string[] = [];
  for (const pem of [...certBlocks.slice(1), ...pemBlocks(chainText, 'CERTIFICATE')]) {
    if (pem.trim() !== signingCertPem.trim() && !above.some((p) => p.trim() === pem.trim())) above.push(pem);
  }
  const chain = [signingCertPem, ...above];
  const certs = chain.map((pem, i) => parseCert(pem, i === 0 ? where.cert : where.chain));
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i]!;
    const what = i === 0 ? where.cert : `${where.chain} (certificate ${i} of ${certs.length - 1})`;
    if (!c.ca) throw new CaMaterialError(`${what}: "${c.subject.replace(/\n/g, ', ')}" is not a CA certificate (basicConstraints CA:TRUE)`);
    if (Date.parse(c.validTo) <= now) throw new CaMaterialError(`${what}: "${c.subject.replace(/\n/g, ', ')}" expired on ${c.validTo}`);
    const next = certs[i + 1];
    if (next !== undefined) {
      if (!c.verify(next.publicKey)) throw new CaMaterialError(`${what}: not signed by the next certificate in the chain ("${next.subject.replace(/\n/g, ', ')}")`);
    } else if (!selfSigned(c)) {
      throw new CaMaterialError(i === 0
        ? `${where.cert}: "${c.subject.replace(/\n/g, ', ')}" is an intermediate CA; give the chain up to the root with --ca-chain`
        : `${where.chain}: ends with "${c.subject.replace(/\n/g, ', ')}", which is not a self-signed root`);
    }
  }
  return { signingCert, signingCertPem, signingKey, chainPems: chain, rootPem: chain[chain.length - 1]!, source };
}

/** takes --ca-cert, --ca-key and --ca-chain paths; returns the checked operator CA or throws CaMaterialError. */
export function loadOperatorCa(certPath: string, keyPath: string, chainPath: string | null): CaMaterial {
  const certPem = readPemFile(certPath, '--ca-cert');
  const keyPem = readPemFile(keyPath, '--ca-key');
  const chainText = chainPath === null ? '' : readPemFile(chainPath, '--ca-chain');
  return checkCaMaterial(certPem, keyPem, chainText, 'operator', { cert: `--ca-cert ${certPath}`, key: `--ca-key ${keyPath}`, chain: `--ca-chain ${chainPath ?? ''}` });
}

/** takes the stored root; returns it as signing material. */
export function rootMaterial(root: StoredRoot): CaMaterial {
  return checkCaMaterial(root.certPem, root.keyPem, '', 'self-signed', { cert: 'the stored root certificate', key: 'the stored root key', chain: '' });
}

/**
 * takes a root (`subject`) and another root with its key (`issuer`); returns PEM of `subject`'s name and
 * key certified by `issuer` (a cross-certificate, CA:TRUE, same key id). Served after a certificate under
 * `subject`, it lets a client that trusts only `issuer` verify it during a rotation's overlap, while one
 * that trusts `subject` stops at its own root first.
 */
export async function crossCertificate(subject: StoredRoot, issuer: StoredRoot): Promise<string> {
  const x509 = await loadX509();
  const { webcrypto } = await import('node:crypto');
  const subjectCert = new x509.X509Certificate(subject.certPem);
  const issuerCert = new x509.X509Certificate(issuer.certPem);
  const der = createPrivateKey(issuer.keyPem).export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', der, ECDSA_P256, false, ['sign']);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const subjectKey = await subjectCert.publicKey.export();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.toString('hex'),
    subject: subjectCert.subjectName,
    issuer: issuerCert.subjectName,
    notBefore: subjectCert.notBefore,
    notAfter: new Date(Math.min(subjectCert.notAfter.getTime(), issuerCert.notAfter.getTime())),
    publicKey: subjectKey,
    signingKey,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(subjectKey),
      await x509.AuthorityKeyIdentifierExtension.create(await issuerCert.publicKey.export()),
    ],
  });
  return cert.toString('pem') + '\n';
}
