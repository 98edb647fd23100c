// The CA's certificate signer (native/x509_issue.cc through
// control/ca/workload-signer.ts): the workload certificate's fields one by
// one, `openssl verify` against the CA, an operator's RSA CA, the control
// plane's own serving certificate, and what the signer refuses.
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCaMaterial, createSelfSignedRoot, rootMaterial, type CaMaterial } from '../../control/ca/ca-material.js';
import { readCsr } from '../../control/ca/csr-reader.js';
import { WorkloadSigner } from '../../control/ca/workload-signer.js';
import { X509Signer, x509ReadCsr } from '../../src/native.js';

const ID = 'spiffe://cluster.local/ns/default/sa/a';
let dir: string;
let root: CaMaterial;
let n = 0;

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

function csrPem(newkey: string[] = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']): string {
  const base = `csr${++n}`;
  openssl(['req', '-new', ...newkey, '-nodes', '-keyout', `${base}.key`, '-subj', '/CN=x', '-addext', `subjectAltName=URI:${ID}`, '-out', `${base}.csr`]);
  return readFileSync(join(dir, `${base}.csr`), 'utf8');
}

/** takes a certificate and the CA bundle; returns `openssl verify`'s verdict line. */
function opensslVerify(certPem: string, caPem: string): string {
  const f = `v${++n}`;
  writeFileSync(join(dir, `${f}.pem`), certPem);
  writeFileSync(join(dir, `${f}-ca.pem`), caPem);
  return openssl(['verify', '-CAfile', `${f}-ca.pem`, `${f}.pem`]).trim();
}

function text(certPem: string): string {
  const f = `t${++n}.pem`;
  writeFileSync(join(dir, f), certPem);
  return openssl(['x509', '-in', f, '-noout', '-text']);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-x509-issue-'));
  root = rootMaterial(await createSelfSignedRoot('cluster.local'));
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('workload certificate signer (OpenSSL in the addon)', { timeout: 30_000 }, () => {
  it('issues the certificate the CA always issued, field by field, and openssl verify accepts it', () => {
    const signer = new WorkloadSigner(root);
    const pem = csrPem();
    const now = Date.parse('2026-12-06T12:00:00.500Z');
    const signed = signer.sign(readCsr(pem), ID, 3_600_000, Math.max(now, Date.now()));
    const cert = new X509Certificate(signed.certPem);
    expect(signed.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/);
    expect(cert.serialNumber.toLowerCase()).toBe(signed.serial);
    expect(signed.serial).toMatch(/^[4-7][0-9a-f]{31}$/);
    expect(cert.issuer).toBe(root.signingCert.subject);
    expect(cert.subject ?? '').toBe('');
    expect(Date.parse(cert.validTo)).toBe(Math.floor(signed.notAfter.getTime() / 1000) * 1000);
    expect(Date.parse(cert.validTo) - Date.parse(cert.validFrom)).toBeGreaterThanOrEqual(3_659_000);
    expect(Date.parse(cert.validTo) - Date.parse(cert.validFrom)).toBeLessThanOrEqual(3_661_000);
    // The key is the CSR's, as sent.
    const csrKey = createPublicKey({ key: Buffer.from(readFileSync(join(dir, `csr${n}.key`))), format: 'pem' });
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(csrKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    const t = text(signed.certPem);
    expect(t).toContain('Version: 3 (0x2)');
    expect(t).toMatch(/\n\s+Subject: ?\n/);
    expect(t).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(t).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
    expect(t).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
    expect(t).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(t).toMatch(new RegExp(`X509v3 Subject Alternative Name: critical\\n\\s+URI:${ID}\\n`));
    const rootSki = /X509v3 Subject Key Identifier: \n\s+(\S+)/.exec(text(root.signingCertPem))![1]!;
    expect(t).toMatch(new RegExp(`X509v3 Authority Key Identifier: \\n\\s+(keyid:)?${rootSki}\\n`));
    expect(t).not.toContain('Subject Key Identifier');
    // The extensions in the order the JS signer wrote them.
    expect([...t.matchAll(/X509v3 ([A-Za-z ]+?):/g)].map((m) => m[1]).filter((e) => e !== 'extensions')).toEqual([
      'Key Usage', 'Extended Key Usage', 'Basic Constraints', 'Authority Key Identifier', 'Subject Alternative Name']);
    expect(cert.verify(root.signingCert.publicKey)).toBe(true);
    expect(signer.issued(signed.certPem)).toBe(true);
    expect(opensslVerify(signed.certPem, root.rootPem)).toMatch(/: OK$/);
  });

  it('signs RSA keys, and signs with an operator\'s RSA CA (sha256WithRSAEncryption)', () => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rsa-ca.key', '-sha256', '-days', '30', '-subj', '/O=Operator/CN=RSA Root',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'rsa-ca.pem']);
    const ca = checkCaMaterial(readFileSync(join(dir, 'rsa-ca.pem'), 'utf8'), readFileSync(join(dir, 'rsa-ca.key'), 'utf8'), '', 'operator',
      { cert: 'rsa-ca.pem', key: 'rsa-ca.key', chain: '' });
    const signer = new WorkloadSigner(ca);
    const ecLeaf = signer.sign(readCsr(csrPem()), ID, 600_000);
    expect(text(ecLeaf.certPem)).toContain('Signature Algorithm: sha256WithRSAEncryption');
    expect(opensslVerify(ecLeaf.certPem, ca.rootPem)).toMatch(/: OK$/);
    const rsaLeaf = new WorkloadSigner(root).sign(readCsr(csrPem(['-newkey', 'rsa:2048'])), ID, 600_000);
    expect(new X509Certificate(rsaLeaf.certPem).publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(opensslVerify(rsaLeaf.certPem, root.rootPem)).toMatch(/: OK$/);
  });

  it('issues the control plane\'s serving certificate from an SPKI with DNS and IP names', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signed = new WorkloadSigner(root).signKey(publicKey.export({ type: 'spki', format: 'der' }), ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'], 60_000);
    const cert = new X509Certificate(signed.certPem);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(opensslVerify(signed.certPem, root.rootPem)).toMatch(/: OK$/);
  });

  it('a rotated root gets its own signer: its certificates verify with the new root only', async () => {
    const next = rootMaterial(await createSelfSignedRoot('cluster.local'));
    const signed = new WorkloadSigner(next).sign(readCsr(csrPem()), ID, 60_000);
    expect(opensslVerify(signed.certPem, next.rootPem)).toMatch(/: OK$/);
    expect(new X509Certificate(signed.certPem).verify(root.signingCert.publicKey)).toBe(false);
  });

  it('refuses what it cannot sign with a clear Error, never a crash', () => {
    const keyPem = root.signingKey.export({ type: 'pkcs8', format: 'pem' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(() => new X509Signer(root.signingCertPem, other)).toThrow('X509Signer: the CA key does not belong to the CA certificate');
    expect(() => new X509Signer('not a pem', keyPem)).toThrow(/^X509Signer: the CA certificate is not a PEM certificate/);
    expect(() => new X509Signer(root.signingCertPem, 'nope')).toThrow(/^X509Signer: the CA key is not a PEM private key/);
    const signer = new X509Signer(root.signingCertPem, keyPem);
    const { csr } = x509ReadCsr(csrPem());
    const serial = Buffer.from('4000000000000001', 'hex');
    const now = Date.now();
    expect(signer.issue(csr, [`URI:${ID}`], now, now + 60_000, serial)).toContain('BEGIN CERTIFICATE');
    expect(() => signer.issue(csr, [`URI:spiffe://x/${'a'.repeat(64 * 1024)}`], now, now + 60_000, serial))
      .toThrow('X509Signer.issue: a subject-alt-name is 65547 bytes; 1 to 2048 are accepted');
    expect(() => signer.issue(csr, Array.from({ length: 1000 }, (_, i) => `URI:a:${i}`), now, now + 60_000, serial))
      .toThrow('X509Signer.issue: more than 100 subject-alt-names');
    expect(() => signer.issue(csr, ['EMAIL:a@b'], now, now + 60_000, serial)).toThrow(/must be a string "URI:\.\.\.", "DNS:\.\.\." or "IP:\.\.\."/);
    expect(() => signer.issue(csr, ['IP:not-an-ip'], now, now + 60_000, serial)).toThrow('X509Signer.issue: "not-an-ip" is not an IP address');
    expect(() => signer.issue(csr, [`URI:${ID}`], now, now + 60_000, Buffer.from([0x80, 1]))).toThrow(/the serial must be 1 to 20 bytes, positive/);
    expect(() => signer.issue(csr, [`URI:${ID}`], now, now - 1000, serial)).toThrow('X509Signer.issue: notAfter is not after notBefore');
    expect(() => signer.issue(csr, [`URI:${ID}`], now, Number.NaN, serial)).toThrow(/times between 1950 and 9999/);
    expect(() => signer.issue(Buffer.from('garbage'), [`URI:${ID}`], now, now + 60_000, serial)).toThrow('X509Signer.issue: the subject\'s public key cannot be read');
    expect(() => signer.issue({} as never, [`URI:${ID}`], now, now + 60_000, serial)).toThrow(/the key must be a CSR from x509ReadCsr/);
    expect(() => signer.issue(csr, 'x' as never, now, now, serial)).toThrow(TypeError);
  });
});
