// The mesh scenario's haproxy-pairs row (issue 12): app -> client-side
// haproxy -> mTLS -> server-side haproxy -> upstream, both nbthread 1, tuned
// as the plaintext haproxy pair (keep-alive, connection reuse). The client
// side presents a workload certificate with Istio's SNI and ALPN and verifies
// the server's chain against the mesh CA; the server side requires and
// verifies the client's certificate and forwards plaintext. The certificates
// are the Isthmus mTLS row's (openssl, one test CA, ECDSA P-256, SPIFFE URI
// SANs), so both pairs do the same cryptography; haproxy checks the server's
// name against the SNI it sends and cannot match a URI SAN, so the server
// certificate also carries the SNI as a DNS name and haproxy checks that.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { startManagedProcess } from '../src/process/managed-process.js';
import { makeMeshCertificates } from './mesh-mtls-target.js';
import { freePort } from './peers.js';

/** The row's label in the mesh scenario. */
export const MESH_HAPROXY_MTLS_LABEL = 'haproxy x2 mTLS';

const SNI = 'outbound_.9080_._.server.default.svc.cluster.local';

const COMMON = `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
`;

/** haproxy wants the certificate and its key in one file. */
function combined(dir: string, name: string, cert: string, key: string): string {
  const file = join(dir, `${name}-combined.pem`);
  writeFileSync(file, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
  return file;
}

async function start(name: string, binary: string, dir: string, config: string, port: number): Promise<ManagedProcess<number>> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  return startManagedProcess({ name, command: binary, args: ['-f', file, '-db'], readyPort: port });
}

/** Starts the server side, then the client side; resolves with both (the client's port is where load goes). */
export async function startHaproxyMtlsMesh(binary: string, upstreamPort: number, dir: string): Promise<{ procs: ManagedProcess<number>[]; port: number }> {
  const certs = makeMeshCertificates(join(dir, 'certs'), SNI);
  const serverPem = combined(join(dir, 'certs'), 'server', certs.server.cert, certs.server.key);
  const clientPem = combined(join(dir, 'certs'), 'client', certs.client.cert, certs.client.key);
  const serverPort = await freePort();
  const server = await start('haproxy server-side (mTLS)', binary, join(dir, 'server-side'), `# written by isthmus bench: haproxy server-side sidecar, mTLS in, plaintext to the app
${COMMON}frontend mesh_in
  bind 127.0.0.1:${serverPort} ssl crt ${serverPem} ca-file ${certs.ca} verify required alpn http/1.1
  default_backend app
backend app
  server app1 127.0.0.1:${upstreamPort}
`, serverPort);
  try {
    const clientPort = await freePort();
    const client = await start('haproxy client-side (mTLS)', binary, join(dir, 'client-side'), `# written by isthmus bench: haproxy client-side sidecar, plaintext in, mTLS out
${COMMON}frontend app_out
  bind 127.0.0.1:${clientPort}
  default_backend mesh_out
backend mesh_out
  server peer1 127.0.0.1:${serverPort} ssl crt ${clientPem} ca-file ${certs.ca} verify required sni str(${SNI}) alpn istio-peer-exchange,istio
`, clientPort);
    return { procs: [client, server], port: clientPort };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
