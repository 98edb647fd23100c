// The certificate every TLS target of the bench serves: one ECDSA P-256 key
// and self-signed certificate for bench.local, made at bench start with the
// openssl CLI (node:crypto makes keys but not X.509 certificates), so nginx,
// haproxy and Isthmus terminate TLS with the same key and curve.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_SERVER_NAME = 'bench.local';

export interface BenchCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate then key in one file (haproxy's `crt`). */
  readonly combinedFile: string;
  /** The certificate (PEM), for the client to trust. */
  readonly certPem: string;
}

/** Writes a fresh key and certificate into dir; throws naming what failed (e.g. openssl not installed). */
export function makeBenchCertificate(dir: string): BenchCertificate {
  mkdirSync(dir, { recursive: true });
  const keyFile = join(dir, 'bench-key.pem');
  const certFile = join(dir, 'bench-cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${BENCH_SERVER_NAME}`,
        '-addext', `subjectAltName=DNS:${BENCH_SERVER_NAME}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    throw new Error(`cannot make the bench certificate with openssl: ${(err as Error).message.split('\n')[0]}`);
  }
  const certPem = readFileSync(certFile, 'utf8');
  const combinedFile = join(dir, 'bench-combined.pem');
  writeFileSync(combinedFile, certPem + readFileSync(keyFile, 'utf8'));
  return { certFile, keyFile, combinedFile, certPem };
}
