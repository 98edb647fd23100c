// The CA's CSR reader (native/x509_csr.cc through control/ca/csr-reader.ts):
// CSRs made by the openssl CLI, good and hostile, each refused with the
// message a peer gets over gRPC. The hostile ones are cut and spliced DER.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsrError, readCsr } from '../../control/ca/csr-reader.js';
import { x509ReadCsr, x509VerifyCsr } from '../../src/native.js';

const ID = 'spiffe://cluster.local/ns/default/sa/a';
let dir: string;
let n = 0;

/** takes openssl key options and SAN text; returns a CSR PEM made by `openssl req`. */
function opensslCsr(newkey: string[], san: string | null, extra: string[] = []): string {
  const base = join(dir, `csr${++n}`);
  execFileSync('openssl', ['req', '-new', ...newkey, '-nodes', '-keyout', `${base}.key`, '-subj', '/CN=x',
    ...(san === null ? [] : ['-addext', `subjectAltName=${san}`]), ...extra, '-out', `${base}.csr`], { stdio: 'ignore' });
  return readFileSync(`${base}.csr`, 'utf8');
}

const der = (pem: string): Buffer => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
const pemOf = (body: Buffer): string =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${body.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;

function refusal(pem: unknown): string {
  try {
    readCsr(pem);
  } catch (err) {
    expect(err).toBeInstanceOf(CsrError);
    return (err as Error).message;
  }
  throw new Error('the CSR was accepted');
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-x509-csr-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CSR reader (OpenSSL in the addon)', { timeout: 30_000 }, () => {
  it('reads P-256, P-384 and RSA CSRs: key type, URI SANs, a verified proof of possession', () => {
    const p256 = readCsr(opensslCsr(P256, `URI:${ID}`));
    expect(p256.keyType).toBe('ECDSA P-256');
    expect(p256.uriSans).toEqual([ID]);
    expect(readCsr(opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], `URI:${ID}`, ['-sha384'])).keyType).toBe('ECDSA P-384');
    const rsa = readCsr(opensslCsr(['-newkey', 'rsa:2048'], `URI:${ID},URI:spiffe://cluster.local/ns/default/sa/b`));
    expect(rsa.keyType).toBe('RSA 2048');
    expect(rsa.uriSans).toEqual([ID, 'spiffe://cluster.local/ns/default/sa/b']);
    // "NEW CERTIFICATE REQUEST" (old openssl), CRLF lines and surrounding space are read as before.
    const crlf = opensslCsr(P256, `URI:${ID}`).replace(/CERTIFICATE REQUEST/g, 'NEW CERTIFICATE REQUEST').replace(/\n/g, '\r\n');
    expect(readCsr(`  \n${crlf}\n\n`).uriSans).toEqual([ID]);
  });

  it('refuses truncated DER, bytes after the request, bad base64 and anything but one PEM block, naming what is wrong', () => {
    const good = der(opensslCsr(P256, `URI:${ID}`));
    expect(refusal(pemOf(good.subarray(0, good.length - 10)))).toMatch(/^the CSR is not a valid PKCS#10 request: /);
    expect(refusal(pemOf(good.subarray(0, 40)))).toMatch(/^the CSR is not a valid PKCS#10 request: /);
    expect(refusal(pemOf(Buffer.concat([good, Buffer.from([0x05, 0x00])])))).toBe('the CSR is not a valid PKCS#10 request: 2 bytes follow the request');
    const b64 = good.toString('base64');
    expect(refusal(`-----BEGIN CERTIFICATE REQUEST-----\n${b64.slice(0, 8)}=${b64.slice(9)}\n-----END CERTIFICATE REQUEST-----\n`))
      .toBe('the CSR is not a valid PKCS#10 request: its base64 body does not decode');
    const one = pemOf(good);
    expect(refusal(one + one)).toBe('the CSR is not one PEM "CERTIFICATE REQUEST" block');
    expect(refusal(`junk\n${one}`)).toBe('the CSR is not one PEM "CERTIFICATE REQUEST" block');
    expect(refusal(one.replace(/REQUEST/g, 'REQUESTS'))).toBe('the CSR is not one PEM "CERTIFICATE REQUEST" block');
    expect(refusal('-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n')).toBe('the CSR is not one PEM "CERTIFICATE REQUEST" block');
    expect(refusal(42)).toBe('the request has no CSR');
  });

  it('caps the PEM at 16 KiB in the addon too: a CSR with a SAN over 64 KiB is refused by its size, unread', () => {
    const longSan = `URI:spiffe://cluster.local/ns/default/sa/${'a'.repeat(70 * 1024)}`;
    const big = opensslCsr(P256, longSan);
    expect(big.length).toBeGreaterThan(90_000);
    expect(refusal(big)).toBe(`the CSR is ${big.length} bytes; at most 16384 are accepted`);
    // The addon checks on its own (UTF-8 bytes), whatever the JS in front of it does.
    let message = '';
    try {
      x509ReadCsr(big);
    } catch (err) {
      message = (err as Error).message;
      expect((err as { code?: string }).code).toBe('ERR_CSR_INVALID');
    }
    expect(message).toBe(`the CSR is ${Buffer.byteLength(big)} bytes; at most 16384 are accepted`);
    expect(() => x509ReadCsr(123 as unknown as string)).toThrow(TypeError);
  });

  it('reads a CSR with 1000 SANs in full, and the CA refuses it for asking too many', () => {
    const sans = Array.from({ length: 1000 }, (_, i) => `URI:a:${i}`).join(',');
    const pem = opensslCsr(P256, sans);
    expect(pem.length).toBeLessThan(16384);
    const facts = x509ReadCsr(pem);
    expect(facts.uriSans).toHaveLength(1000);
    expect(facts.uriSans[999]).toBe('a:999');
    expect(x509VerifyCsr(facts.csr)).toBe(true);
    expect(refusal(pem)).toBe('the CSR asks for 1000 subject-alt-names; at most 16 are accepted');
  });

  it('refuses other names, keys and algorithms the CA does not sign, and a bad proof of possession', () => {
    expect(refusal(opensslCsr(P256, `URI:${ID},DNS:evil.example`))).toBe('the CSR asks for a subject-alt-name that is not a URI (the CA issues SPIFFE URI SANs only)');
    expect(refusal(opensslCsr(P256, 'IP:127.0.0.1'))).toBe('the CSR asks for a subject-alt-name that is not a URI (the CA issues SPIFFE URI SANs only)');
    expect(refusal(opensslCsr(P256, null, ['-addext', '2.5.29.17=DER:0403414141']))).toBe('the CSR\'s extension request cannot be read: its subjectAltName does not decode');
    expect(refusal(opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], `URI:${ID}`)))
      .toBe('the CSR\'s EC key is on curve 1.3.132.0.10; the CA signs P-256 and P-384 keys only');
    expect(refusal(opensslCsr(['-newkey', 'ed25519'], `URI:${ID}`))).toBe('the CSR\'s key algorithm 1.3.101.112 is not supported (ECDSA P-256/P-384 or RSA 2048-4096)');
    expect(refusal(opensslCsr(['-newkey', 'rsa:1024'], `URI:${ID}`))).toBe('the CSR\'s RSA key has 1024 bits; the CA signs RSA keys of 2048 to 4096 bits');
    expect(refusal(opensslCsr(P256, `URI:${ID}`, ['-sha1']))).toBe('the CSR is signed with 1.2.840.10045.4.1, which the CA does not accept (ECDSA or RSA PKCS#1 with SHA-256/384/512)');
    // The signature of another key, spliced in: no proof of possession.
    const a = der(opensslCsr(P256, `URI:${ID}`));
    const b = der(opensslCsr(P256, `URI:${ID}`));
    // The outer SEQUENCE header (30 82 LL LL), then the request info (a SEQUENCE with a one- or two-byte length).
    const infoEnd = (d: Buffer): number => (d[5] === 0x81 ? 4 + 3 + d[6]! : 4 + 4 + ((d[6]! << 8) | d[7]!));
    const spliced = Buffer.concat([a.subarray(0, infoEnd(a)), b.subarray(infoEnd(b))]);
    spliced.writeUInt16BE(spliced.length - 4, 2);
    expect(spliced.equals(a)).toBe(false);
    expect(refusal(pemOf(spliced))).toBe('the CSR\'s signature does not verify with its own key (proof of possession failed)');
  });

  it('refuses an EC point off its curve and a compressed point', () => {
    const good = der(opensslCsr(P256, `URI:${ID}`));
    // The uncompressed point follows the P-256 SPKI header (… 03 42 00 04).
    const at = good.indexOf(Buffer.from([0x03, 0x42, 0x00, 0x04])) + 4;
    expect(at).toBeGreaterThan(4);
    const offCurve = Buffer.from(good);
    offCurve[at + 63] ^= 0x01; // the last byte of y
    expect(refusal(pemOf(offCurve))).toBe('the CSR\'s EC public key is not a point on its curve');
    const compressed = Buffer.from(good);
    compressed[at - 1] = 0x02;
    expect(refusal(pemOf(compressed))).toBe('the CSR\'s EC public key is not an uncompressed point of its curve');
  });
});
