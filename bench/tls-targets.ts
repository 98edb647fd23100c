// The TLS scenario's targets, each terminating TLS with the bench certificate
// and proxying plaintext to the bench upstream: haproxy (nbthread 1) and nginx
// (1 worker) configured as an operator would, and Isthmus (1 worker, native
// transport, access log on) with an Envoy DownstreamTlsContext on its filter chain. A build of Isthmus that does not
// terminate TLS yet rejects that bootstrap (or serves no TLS): the scenario
// then skips it and says so, and lights up once the proxy takes it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { parseJsonLine, startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { isthmusCommand, parseProxyReady } from '../src/process/proxy-process.js';
import { benchBootstrapYaml } from './isthmus-target.js';
import { findPeerBinary, freePort, haproxyConfig, nginxConfig, type PeerName } from './peers.js';
import { BENCH_SERVER_NAME, type BenchCertificate } from './tls-certificate.js';

export type TlsTargetName = 'isthmus' | PeerName;

export const TLS_NOT_TERMINATED = 'skipped: this build does not terminate TLS';

/** nginx's proxy config with its listener terminating TLS (session cache off: every new connection is a full handshake). */
export function nginxTlsConfig(listenPort: number, upstreamPort: number, dir: string, cert: BenchCertificate): string {
  return nginxConfig({ listenPort, upstreamPort, dir }).replace(
    `listen 127.0.0.1:${listenPort};`,
    `listen 127.0.0.1:${listenPort} ssl;\n    ssl_certificate ${cert.certFile};\n    ssl_certificate_key ${cert.keyFile};\n    ssl_protocols TLSv1.2 TLSv1.3;`,
  );
}

/** haproxy's proxy config with its frontend terminating TLS. */
export function haproxyTlsConfig(listenPort: number, upstreamPort: number, dir: string, cert: BenchCertificate): string {
  return haproxyConfig({ listenPort, upstreamPort, dir }).replace(
    `bind 127.0.0.1:${listenPort}`,
    `bind 127.0.0.1:${listenPort} ssl crt ${cert.combinedFile} alpn http/1.1`,
  );
}

/** The bench bootstrap with its one filter chain terminating TLS (Envoy's envoy.transport_sockets.tls). */
export function isthmusTlsBootstrapYaml(upstreamPort: number, cert: BenchCertificate): string {
  const plain = benchBootstrapYaml(upstreamPort);
  const marker = '    filter_chains:\n    - filters:\n';
  if (!plain.includes(marker)) throw new Error('bench bootstrap changed shape: no filter chain to add a transport_socket to');
  const tlsChain = `    filter_chains:
    - transport_socket:
        name: envoy.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: ["http/1.1"]
            tls_certificates:
            - certificate_chain: { filename: "${cert.certFile}" }
              private_key: { filename: "${cert.keyFile}" }
      filters:
`;
  return plain.replace(marker, tlsChain);
}

/** The proxy's own reason, from a start failure's message: its last output line that says something (the msg of a JSON log line). */
function lastWords(message: string): string {
  const lines = message.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  for (const line of lines.reverse()) {
    const record = parseJsonLine(line);
    const text = record === undefined ? line : [record.msg, record.err, record.error, record.reason].filter((v) => typeof v === 'string').join(': ');
    const flat = text.replace(/\s*\n\s*/g, ' ');
    if (flat !== '' && !flat.endsWith('its last output:')) return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat;
  }
  return lines[0] ?? 'no output';
}

/** Resolves once a TLS handshake with 127.0.0.1:port succeeds; rejects with why it did not. */
export function probeTls(port: number, cert: BenchCertificate, timeoutMs = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: BENCH_SERVER_NAME, ca: cert.certPem, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`no TLS handshake within ${timeoutMs} ms`));
    });
    socket.once('error', (err) => reject(new Error(`TLS handshake failed: ${err.message}`)));
  });
}

/** null when the target can run here, else why not. */
export function tlsTargetUnavailable(name: TlsTargetName): string | null {
  if (name === 'isthmus') return null;
  return findPeerBinary(name) === null ? `${name} is not installed` : null;
}

/** Writes the target's config into dir, starts it, checks it answers a TLS handshake; resolves with the process and port. */
export async function startTlsTarget(
  name: TlsTargetName,
  upstreamPort: number,
  dir: string,
  cert: BenchCertificate,
): Promise<{ proc: ManagedProcess<unknown>; port: number }> {
  mkdirSync(dir, { recursive: true });
  let proc: ManagedProcess<unknown>;
  let port: number;
  if (name === 'isthmus') {
    const bootstrap = join(dir, 'bootstrap.yaml');
    writeFileSync(bootstrap, isthmusTlsBootstrapYaml(upstreamPort, cert));
    // As deployed: one worker, the native transport (TLS in the addon) and the access log on (its default),
    // written to a file as the plaintext scenarios' access-log row does.
    const { command, args } = isthmusCommand(['proxy', '--bootstrap', bootstrap, '--workers', '1', '--transport', 'native',
      '--admin-port', '0', '--data-dir', join(dir, 'data'), '--access-log', join(dir, 'access.log')]);
    try {
      const started = await startManagedProcess({ name: 'isthmus (TLS, 1 worker)', command, args, readyLine: parseProxyReady, readyTimeoutMs: 20_000 });
      proc = started;
      port = started.ready!.listenPort;
    } catch (err) {
      throw new Error(`${TLS_NOT_TERMINATED} (the proxy rejected the bootstrap: ${lastWords((err as Error).message)})`);
    }
    try {
      await probeTls(port, cert);
    } catch (err) {
      await proc.stop();
      throw new Error(`${TLS_NOT_TERMINATED} (${(err as Error).message})`);
    }
    return { proc, port };
  }
  const binary = findPeerBinary(name)!;
  port = await freePort();
  if (name === 'nginx') {
    const file = join(dir, 'nginx.conf');
    writeFileSync(file, nginxTlsConfig(port, upstreamPort, dir, cert));
    proc = await startManagedProcess({ name: 'nginx (TLS)', command: binary, args: ['-p', dir, '-c', file, '-e', 'stderr'], readyPort: port });
  } else {
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, haproxyTlsConfig(port, upstreamPort, dir, cert));
    proc = await startManagedProcess({ name: 'haproxy (TLS)', command: binary, args: ['-f', file, '-db'], readyPort: port });
  }
  try {
    await probeTls(port, cert);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { proc, port };
}
