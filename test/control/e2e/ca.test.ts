// The control plane's CA end to end: `isthmus control` makes (or loads) its
// CA, `isthmus token create` makes bootstrap tokens through the admin API,
// and real gRPC clients send CSRs over TLS on the secure port.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { isthmus, startControl, waitFor, type RunningControl, securePort } from './control-harness.js';
import { makeCsr, requestCertificate } from '../../support/ca-client.js';

let control: RunningControl | null = null;
const temps: string[] = [];

afterEach(async () => {
  await control?.stop();
  control?.remove();
  control = null;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

const rootPem = (c: RunningControl): string => readFileSync(join(c.dataDir, 'root-cert.pem'), 'utf8');

function createToken(c: RunningControl, ns: string, sa: string, ttl = '1h'): { token: string; id: string } {
  const r = isthmus(['token', 'create', '--namespace', ns, '--service-account', sa, '--ttl', ttl,
    '--control', `http://127.0.0.1:${c.adminPort}`, '--data-dir', c.dataDir], c.dir);
  expect(r.code, r.stderr).toBe(0);
  const id = /token (\S+) for/.exec(r.stderr)![1]!;
  return { token: r.stdout.trim(), id };
}

const spiffe = (ns: string, sa: string, td = 'cluster.local'): string => `spiffe://${td}/ns/${ns}/sa/${sa}`;

describe('isthmus control CA', { timeout: 60_000 }, () => {
  it('signs a CSR for the token\'s identity over TLS; the chain verifies to root-cert.pem; the root stays across restarts in a 0600 LMDB file', async () => {
    control = await startControl();
    const { token } = createToken(control, 'bookinfo', 'reviews');
    const csr = await makeCsr([spiffe('bookinfo', 'reviews')]);
    const answer = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: token, csr, ttlSeconds: 600 });
    expect(answer.details).toBeUndefined();
    expect(answer.chain).toHaveLength(2);
    const leaf = new X509Certificate(answer.chain![0]!);
    const root = new X509Certificate(answer.chain![1]!);
    expect(leaf.subjectAltName).toBe(`URI:${spiffe('bookinfo', 'reviews')}`);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(root.raw.equals(new X509Certificate(rootPem(control)).raw)).toBe(true);
    const lifetime = Date.parse(leaf.validTo) - Date.now();
    expect(lifetime).toBeGreaterThan(500_000);
    expect(lifetime).toBeLessThan(700_000);
    expect(root.ca).toBe(true);
    expect(Date.parse(root.validTo) - Date.now()).toBeGreaterThan(9.9 * 365 * 86_400_000);
    expect(statSync(join(control.dataDir, 'data.mdb')).mode & 0o777).toBe(0o600);
    // The log line may reach our pipe after the gRPC answer does.
    const issued = await waitFor('the issue logged', () => control.lines.find((l) => l.msg === 'workload certificate issued'));
    expect(issued?.serial).toBe(leaf.serialNumber.toLowerCase().replace(/^0+/, '').padStart(32, '0'));
    // Same data dir: same root.
    const first = rootPem(control);
    await control.stop();
    control = await startControl(undefined, { configDir: control.configDir, dataDir: control.dataDir });
    expect(rootPem(control)).toBe(first);
  });

  it('refuses a CSR for another identity, and a token for another service account, and logs it', async () => {
    control = await startControl();
    const { token } = createToken(control, 'bookinfo', 'reviews');
    const answer = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: token, csr: await makeCsr([spiffe('bookinfo', 'ratings')]) });
    expect(answer.code).toBe(status.PERMISSION_DENIED);
    expect(answer.details).toContain(`the CSR asks for ${spiffe('bookinfo', 'ratings')}, but bootstrap token`);
    await waitFor('the refusal logged', () => control!.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('certificate request refused: the CSR asks for')));
    const noToken = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), csr: await makeCsr([spiffe('bookinfo', 'reviews')]) });
    expect(noToken.code).toBe(status.UNAUTHENTICATED);
    const forged = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: `${token.slice(0, -4)}AAAA`, csr: await makeCsr([spiffe('bookinfo', 'reviews')]) });
    expect(forged.code).toBe(status.UNAUTHENTICATED);
    expect(forged.details).toContain('signature does not verify');
  });

  it('gives a revoked token and an expired token nothing', async () => {
    control = await startControl();
    const revoked = createToken(control, 'default', 'a');
    const csr = await makeCsr([spiffe('default', 'a')]);
    expect((await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: revoked.token, csr })).chain).toBeDefined();
    const r = isthmus(['token', 'revoke', revoked.id, '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
    expect(r.code, r.stderr).toBe(0);
    const after = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: revoked.token, csr });
    expect(after.code).toBe(status.UNAUTHENTICATED);
    expect(after.details).toContain(`the bootstrap token ${revoked.id} was revoked`);
    const expiring = createToken(control, 'default', 'a', '1s');
    await new Promise((res) => setTimeout(res, 1500));
    const expired = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: expiring.token, csr });
    expect(expired.code).toBe(status.UNAUTHENTICATED);
    expect(expired.details).toContain('expired');
    const list = isthmus(['token', 'list', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
    expect(list.stdout).toMatch(new RegExp(`${revoked.id}\\s+default/a\\s+\\S+\\s+revoked`));
  });

  it('refuses hostile CSRs with a clear error and keeps serving', async () => {
    control = await startControl();
    const { token } = createToken(control, 'default', 'a');
    const port = securePort(control);
    const root = rootPem(control);
    const ask = (csr: string) => requestCertificate({ port, rootPem: root, bearer: token, csr });
    const garbage = await ask('hello');
    expect(garbage.code).toBe(status.INVALID_ARGUMENT);
    expect(garbage.details).toBe('the CSR is not one PEM "CERTIFICATE REQUEST" block');
    const notAsn1 = await ask('-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAAAAAAAAAAAAAAA\n-----END CERTIFICATE REQUEST-----\n');
    expect(notAsn1.code).toBe(status.INVALID_ARGUMENT);
    expect(notAsn1.details).toContain('the CSR is not a valid PKCS#10 request');
    const huge = await ask(`-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(1024 * 1024)}\n-----END CERTIFICATE REQUEST-----\n`);
    expect(huge.code).toBe(status.INVALID_ARGUMENT);
    expect(huge.details).toMatch(/^the CSR is \d+ bytes; at most 16384 are accepted$/);
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-csr-'));
    temps.push(dir);
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', join(dir, 'ed.key')]);
    execFileSync('openssl', ['req', '-new', '-key', join(dir, 'ed.key'), '-subj', '/CN=x', '-addext', `subjectAltName=URI:${spiffe('default', 'a')}`, '-out', join(dir, 'ed.csr')]);
    const ed = await ask(readFileSync(join(dir, 'ed.csr'), 'utf8'));
    expect(ed.code).toBe(status.INVALID_ARGUMENT);
    expect(ed.details).toContain('is not supported (ECDSA P-256/P-384 or RSA 2048-4096)');
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', join(dir, 'rsa.key'), '-subj', '/CN=x', '-addext', `subjectAltName=URI:${spiffe('default', 'a')}`, '-out', join(dir, 'rsa.csr')], { stdio: 'ignore' });
    const weak = await ask(readFileSync(join(dir, 'rsa.csr'), 'utf8'));
    expect(weak.details).toBe('the CSR\'s RSA key has 1024 bits; the CA signs RSA keys of 2048 to 4096 bits');
    // A CSR whose signature was made by another key (no proof of possession).
    const good = await makeCsr([spiffe('default', 'a')]);
    const other = await makeCsr([spiffe('default', 'a')]);
    const body = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const spliced = Buffer.concat([body(good).subarray(0, body(good).length - 72), body(other).subarray(body(other).length - 72)]);
    const swapped = await ask(`-----BEGIN CERTIFICATE REQUEST-----\n${spliced.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
    expect(swapped.code).toBe(status.INVALID_ARGUMENT);
    // Still serving, and still signing.
    expect((await ask(good)).chain).toHaveLength(2);
    expect(control.child.exitCode).toBeNull();
  });

  it('signs with an operator CA whose signing certificate is an intermediate: the chain returned verifies to the operator root', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-cacerts-'));
    temps.push(dir);
    const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key']);
    o(['req', '-x509', '-new', '-key', 'root.key', '-sha256', '-days', '3650', '-subj', '/O=Operator/CN=Operator Root', '-out', 'root-cert.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.ec']);
    o(['pkcs8', '-topk8', '-nocrypt', '-in', 'ca.ec', '-out', 'ca-key.pem']);
    o(['req', '-new', '-key', 'ca-key.pem', '-subj', '/O=Operator/CN=Operator Intermediate', '-out', 'ca.csr']);
    writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
    o(['x509', '-req', '-in', 'ca.csr', '-CA', 'root-cert.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '365', '-sha256', '-extfile', 'ext.cnf', '-out', 'ca-cert.pem']);
    writeFileSync(join(dir, 'cert-chain.pem'), readFileSync(join(dir, 'ca-cert.pem'), 'utf8') + readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
    control = await startControl(undefined, undefined, ['--ca-cert', join(dir, 'ca-cert.pem'), '--ca-key', join(dir, 'ca-key.pem'), '--ca-chain', join(dir, 'cert-chain.pem'), '--trust-domain', 'example.org']);
    expect(rootPem(control)).toBe(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
    const { token } = createToken(control, 'shop', 'cart');
    const answer = await requestCertificate({ port: securePort(control), rootPem: rootPem(control), bearer: token, csr: await makeCsr([spiffe('shop', 'cart', 'example.org')]) });
    expect(answer.chain).toHaveLength(3);
    const [leafPem, interPem, rootFromChain] = answer.chain!;
    writeFileSync(join(dir, 'leaf.pem'), leafPem!);
    writeFileSync(join(dir, 'inter.pem'), interPem!);
    expect(rootFromChain).toBe(readFileSync(join(dir, 'root-cert.pem'), 'utf8'));
    const verified = execFileSync('openssl', ['verify', '-CAfile', 'root-cert.pem', '-untrusted', 'inter.pem', 'leaf.pem'], { cwd: dir }).toString();
    expect(verified.trim()).toBe('leaf.pem: OK');
    expect(new X509Certificate(leafPem!).subjectAltName).toBe(`URI:${spiffe('shop', 'cart', 'example.org')}`);
  });

  it('refuses to start on an intermediate without its chain, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-cacerts-'));
    temps.push(dir);
    const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key']);
    o(['req', '-x509', '-new', '-key', 'root.key', '-days', '30', '-subj', '/CN=R', '-out', 'root.pem', '-addext', 'basicConstraints=critical,CA:TRUE']);
    o(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key']);
    o(['req', '-new', '-key', 'ca.key', '-subj', '/CN=I', '-out', 'ca.csr']);
    writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE\n');
    o(['x509', '-req', '-in', 'ca.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '30', '-extfile', 'ext.cnf', '-out', 'ca.pem']);
    const data = join(dir, 'data');
    const r = isthmus(['control', '--data-dir', data, '--admin-port', '0', '--xds-port', '0', '--secure-xds-port', '0', '--ca-cert', join(dir, 'ca.pem'), '--ca-key', join(dir, 'ca.key')], dir);
    expect(r.code).toBe(1);
    expect(r.stderr + r.stdout).toContain(`--ca-cert ${join(dir, 'ca.pem')}: "CN=I" is an intermediate CA; give the chain up to the root with --ca-chain`);
  });
});
