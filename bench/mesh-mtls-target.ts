// The mesh scenario's mTLS row (issue 12): app -> client-side sidecar ->
// mTLS -> server-side sidecar -> upstream, both Isthmus 1 worker, configured
// as the control plane configures sidecars with identities: the server side
// requires a client certificate from the mesh CA, the client side presents
// its workload certificate with Istio's SNI and ALPN and checks the server's
// SPIFFE ID. Certificates come from the openssl CLI (a CA and two SPIFFE
// workload certificates, ECDSA P-256) made once per start.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { binNodeFlags, isthmusCommand, parseProxyReady, type ProxyReady } from '../src/process/proxy-process.js';
import { benchBootstrapYaml } from './isthmus-target.js';

/** The row's label in the mesh scenario. */
export const MESH_MTLS_LABEL = 'isthmus 1w x2 mTLS';

const SERVER_ID = 'spiffe://cluster.local/ns/default/sa/server';
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';

interface MeshCerts {
  readonly ca: string;
  readonly server: { cert: string; key: string };
  readonly client: { cert: string; key: string };
}

/**
 * A CA and two workload certificates (URI SAN only, as the control plane's CA issues them) in dir; `serverDns` adds
 * a DNS SAN to the server's (haproxy checks the SNI it sends against DNS names and cannot match a URI SAN).
 */
export function makeMeshCertificates(dir: string, serverDns?: string): MeshCerts {
  mkdirSync(dir, { recursive: true });
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/O=cluster.local/CN=bench mesh CA']);
    for (const [name, id] of [['server', SERVER_ID], ['client', CLIENT_ID]] as const) {
      o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', '/']);
      const dns = name === 'server' && serverDns !== undefined ? `,DNS:${serverDns}` : '';
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=critical,URI:${id}${dns}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n`);
      o(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`]);
    }
  } catch (err) {
    throw new Error(`cannot make the mesh certificates with openssl: ${(err as Error).message.split('\n')[0]}`);
  }
  return {
    ca: join(dir, 'ca.pem'),
    server: { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') },
    client: { cert: join(dir, 'client.pem'), key: join(dir, 'client-key.pem') },
  };
}

/** The server side: the bench bootstrap whose filter chain requires a client certificate from the mesh CA. */
function serverBootstrap(upstreamPort: number, certs: MeshCerts): string {
  const marker = '    filter_chains:\n    - filters:\n';
  return benchBootstrapYaml(upstreamPort).replace(marker, `    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            alpn_protocols: ["http/1.1"]
            tls_certificates:
            - certificate_chain: { filename: "${certs.server.cert}" }
              private_key: { filename: "${certs.server.key}" }
            validation_context:
              trusted_ca: { filename: "${certs.ca}" }
      filters:
`);
}

/** The client side: the bench bootstrap whose cluster originates mTLS to the server side. */
function clientBootstrap(serverPort: number, certs: MeshCerts): string {
  const marker = '    load_assignment:\n';
  return benchBootstrapYaml(serverPort).replace(marker, `    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: outbound_.9080_._.server.default.svc.cluster.local
        common_tls_context:
          alpn_protocols: ["istio-peer-exchange", "istio"]
          tls_certificates:
          - certificate_chain: { filename: "${certs.client.cert}" }
            private_key: { filename: "${certs.client.key}" }
          validation_context:
            trusted_ca: { filename: "${certs.ca}" }
            match_typed_subject_alt_names:
            - san_type: URI
              matcher: { exact: "${SERVER_ID}" }
${marker}`);
}

/** For measuring the sidecars themselves (bench/mesh-alloc.ts): extra node flags, and every line each prints. */
export interface MeshSidecarOptions {
  /** Put after the bin script's own flags, so they win (e.g. --trace-gc-nvp, --max-semi-space-size=N). */
  readonly nodeFlags?: readonly string[];
  readonly onLine?: (side: 'client' | 'server', line: string) => void;
  /** Another build's bin/isthmus.js (a before/after comparison in the same rounds); default: this one's. */
  readonly bin?: string;
  /** Run the sidecars under this command (e.g. ['valgrind', '--tool=callgrind', ...]): the node command line follows it. */
  readonly wrap?: readonly string[];
}

async function startWithBootstrap(name: string, yaml: string, dir: string, options: MeshSidecarOptions, side: 'client' | 'server'): Promise<ManagedProcess<ProxyReady>> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bootstrap.yaml');
  writeFileSync(file, yaml);
  const proxyArgs = ['proxy', '--bootstrap', file, '--workers', '1', '--admin-port', '0', '--data-dir', join(dir, 'data'), '--access-log', 'off'];
  // The bin's own flags, the extra ones (so they win), the bin, its arguments.
  const bin = options.bin ?? isthmusCommand([]).args.at(-1)!;
  const args = [...binNodeFlags(bin), ...(options.nodeFlags ?? []), bin, ...proxyArgs];
  const onLine = options.onLine === undefined ? undefined : (line: string) => options.onLine!(side, line);
  const wrap = options.wrap ?? [];
  if (wrap.length > 0) {
    return startManagedProcess({ name, command: wrap[0]!, args: [...wrap.slice(1), process.execPath, ...args], readyLine: parseProxyReady, readyTimeoutMs: 300_000, onLine });
  }
  return startManagedProcess({ name, command: process.execPath, args, readyLine: parseProxyReady, readyTimeoutMs: 20_000, onLine });
}

/** Starts the server side, then the client side; resolves with both (the client's port is where load goes). */
export async function startMtlsMesh(
  upstreamPort: number,
  dir: string,
  options: MeshSidecarOptions = {},
): Promise<{ procs: ManagedProcess<ProxyReady>[]; port: number }> {
  const certs = makeMeshCertificates(join(dir, 'certs'));
  const server = await startWithBootstrap('isthmus server-side (mTLS)', serverBootstrap(upstreamPort, certs), join(dir, 'server-side'), options, 'server');
  try {
    const client = await startWithBootstrap('isthmus client-side (mTLS)', clientBootstrap(server.ready!.listenPort, certs), join(dir, 'client-side'), options, 'client');
    return { procs: [client, server], port: client.ready!.listenPort };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
