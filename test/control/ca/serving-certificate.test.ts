// The control plane's serving certificate on a real grpc-js TLS port: re-issued
// at half its lifetime and at a rotation phase, the new one served to new
// handshakes without rebinding the port; during a rotation its chain verifies
// for a client trusting either root.
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Server } from '@grpc/grpc-js';
import { open, type RootDatabase } from 'lmdb';
import { CertificateAuthority } from '../../../control/ca/certificate-authority.js';
import { ServingCertificate } from '../../../control/ca/serving-certificate.js';
import { createLogger } from '../../../src/log.js';

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function setup(serverTtlMs: number): Promise<{ ca: CertificateAuthority; serving: ServingCertificate; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-serving-cert-'));
  const env: RootDatabase = open({ path: dir });
  const log = createLogger('test', 'silent');
  const ca = await CertificateAuthority.open({
    trustDomain: 'cluster.local', operatorCa: null, workloadCertTtlMs: 60_000, maxWorkloadCertTtlMs: 3_600_000, rootRotationOverlapMs: 3_600_000,
  }, env.openDB<unknown, string>({ name: 'ca', encoding: 'msgpack' }), dir, log);
  const serving = new ServingCertificate(ca, ['127.0.0.1'], log, { ttlMs: serverTtlMs });
  const server = new Server();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', serving.credentials, (e, p) => (e === null ? resolve(p) : reject(e))));
  cleanup.push(async () => {
    server.forceShutdown();
    serving.close();
    ca.close();
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { ca, serving, port };
}

/** One handshake; resolves with the served leaf's serial and issuer CN, or the verify error when `ca` is given. */
function handshake(port: number, ca?: string): Promise<{ serial: string; issuer: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], ...(ca === undefined ? { rejectUnauthorized: false } : { ca }) }, () => {
      const peer = socket.getPeerCertificate();
      socket.destroy();
      resolve({ serial: peer.serialNumber.toLowerCase(), issuer: String(peer.issuer.CN) });
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

const cnOf = (pem: string): string => /CN=(.*)/.exec(new X509Certificate(pem).subject)![1]!;

describe('control plane serving certificate', () => {
  it('is re-issued at half its lifetime and the new one is served on the same port', async () => {
    const { serving, port } = await setup(3000);
    const first = await handshake(port);
    expect(first).toEqual({ serial: serving.pems.serial, issuer: expect.stringMatching(/^Isthmus Root CA \d{4}-\d{2}-\d{2} [0-9a-f]{8}$/) });
    const deadline = Date.now() + 6000;
    let now = first;
    while (Date.now() < deadline && 'serial' in now && now.serial === (first as { serial: string }).serial) {
      await new Promise((r) => setTimeout(r, 200));
      now = await handshake(port);
    }
    expect('serial' in now && now.serial).not.toBe((first as { serial: string }).serial);
    expect(serving.pems.notAfter - serving.pems.issuedAt).toBeLessThanOrEqual(3000);
  });

  it('is re-issued by the new root when it starts signing, with a chain a client trusting either root verifies', async () => {
    const { ca, serving, port } = await setup(3_600_000);
    const oldRoot = ca.bundlePem;
    const before = serving.pems.serial;
    const t0 = Date.now();
    await ca.rotate(t0);
    const both = ca.bundlePem;
    const newRoot = both.slice(both.indexOf('-----BEGIN CERTIFICATE-----', 10));
    expect(cnOf(newRoot)).not.toBe(cnOf(oldRoot));
    // Phase 1: the old root signs; the chain carries the old root certified by the new one.
    expect(serving.pems.serial).not.toBe(before);
    for (const trusted of [oldRoot, newRoot, both]) expect(await handshake(port, trusted)).toMatchObject({ issuer: cnOf(oldRoot) });
    // Phase 2: the new root signs.
    await ca.advance(t0 + 3_600_000);
    for (const trusted of [oldRoot, newRoot, both]) expect(await handshake(port, trusted)).toMatchObject({ issuer: cnOf(newRoot) });
    // Retired: only the new root verifies it.
    await ca.retireOld();
    expect(await handshake(port, newRoot)).toMatchObject({ issuer: cnOf(newRoot) });
    expect(await handshake(port, oldRoot)).toHaveProperty('error');
  });
});
