// `isthmus agent --out DIR --control ADDR --token-file F`: the helper of a
// proxyless gRPC app, as istio-agent is: it gets the workload certificate by
// CSR (key made in memory) and keeps cert-chain.pem, key.pem (0600) and
// root-cert.pem in DIR fresh, each replaced by an atomic rename, for
// grpc-js-xds's file_watcher certificate provider. Renewal, jitter and
// backoff are the sidecar's (workload-identity.ts).
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LOG_FORMAT_OPTION, LOG_LEVEL_OPTION, OptionsError, helpText, parseCommandOptions, type CommandSpec } from '../../src/cli/options.js';
import type { LogFormat } from '../../src/log-levels.js';
import { createLogger, reportStartFailure } from '../../src/log.js';
import { GracefulStop, exitProcess } from '../../src/process/graceful-stop.js';
import { grpcXdsBootstrap } from './grpc-bootstrap.js';
import { ControlTrust, readTokenFile } from './identity-client.js';
import { WorkloadIdentity, type CurrentCertificate } from './workload-identity.js';

export const AGENT_COMMAND: CommandSpec = {
  name: 'agent',
  usage: '--out DIR --control HOST:PORT --token-file FILE [--control-ca FILE] [options]',
  summary: 'Keeps a workload certificate for a proxyless gRPC app: cert-chain.pem, key.pem and root-cert.pem in DIR, renewed before they expire (for grpc-js-xds\'s file_watcher certificate provider).',
  options: [
    { name: 'out', type: 'string', valueName: 'DIR', description: 'where cert-chain.pem, key.pem (mode 0600) and root-cert.pem are kept' },
    { name: 'control', type: 'string', valueName: 'HOST:PORT', description: 'the control plane (its CA: --secure-xds-port with --control-ca, else the plaintext loopback port)' },
    { name: 'token-file', type: 'string', valueName: 'FILE', description: 'bootstrap token from `isthmus token create`' },
    { name: 'control-ca', type: 'string', valueName: 'FILE', description: 'the control plane\'s root certificate (root-cert.pem in its data dir): reach it over TLS' },
    { name: 'workload-cert-ttl', type: 'duration', valueName: 'DURATION', description: 'the certificate lifetime to ask the CA for (default: the CA\'s)' },
    { name: 'grpc-bootstrap', type: 'string', valueName: 'FILE', description: 'also write the gRPC xDS bootstrap (GRPC_XDS_BOOTSTRAP) naming these files as certificate provider `default`' },
    { name: 'xds-server', type: 'string', valueName: 'HOST:PORT', description: 'with --grpc-bootstrap: the control plane\'s plaintext ADS port (grpc-js-xds has no TLS channel credentials; default: --control)' },
    { name: 'service', type: 'string', valueName: 'NAME', description: 'with --grpc-bootstrap, for a gRPC server: the service it is an endpoint of (with --app-port)' },
    { name: 'app-port', type: 'integer', valueName: 'PORT', description: 'with --grpc-bootstrap: the port the gRPC server binds (its Listener, mTLS when STRICT)' },
    { name: 'address', type: 'string', valueName: 'IP', description: 'with --grpc-bootstrap: the address the gRPC server binds and announces (default 127.0.0.1)' },
    LOG_LEVEL_OPTION,
    LOG_FORMAT_OPTION,
  ],
};

export const CERT_CHAIN_FILE = 'cert-chain.pem';
export const KEY_FILE = 'key.pem';
export const ROOT_CERT_FILE = 'root-cert.pem';

/** Writes a file whole beside its final name, then renames it in place: a reader never sees half a file. */
function writeAtomically(dir: string, name: string, text: string, mode: number): void {
  const tmp = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, join(dir, name));
}

/** takes the output folder and a certificate; writes the three files (key first, chain last: the provider reloads on the chain). */
export function writeCertificateFiles(dir: string, c: Pick<CurrentCertificate, 'chainPem' | 'keyPem' | 'rootPem'>): void {
  writeAtomically(dir, ROOT_CERT_FILE, c.rootPem, 0o644);
  writeAtomically(dir, KEY_FILE, c.keyPem, 0o600);
  writeAtomically(dir, CERT_CHAIN_FILE, c.chainPem, 0o644);
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(AGENT_COMMAND, argv);
  if (parsed.help) {
    process.stdout.write(helpText(AGENT_COMMAND));
    return 0;
  }
  const v = parsed.values;
  const out = v.out as string | undefined;
  const control = v.control as string | undefined;
  const tokenFile = v['token-file'] as string | undefined;
  if (out === undefined || out === '') throw new OptionsError('needs --out DIR (where the certificate files go)');
  if (control === undefined || !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(control)) throw new OptionsError(`--control: expected HOST:PORT, got '${control ?? ''}'`);
  if (tokenFile === undefined || tokenFile === '') throw new OptionsError('needs --token-file FILE (a bootstrap token from `isthmus token create`)');
  const log = createLogger('isthmus-agent', v['log-level'] as string, { format: v['log-format'] as LogFormat });
  const dir = resolve(out);
  const controlCa = v['control-ca'] as string | undefined;
  const grpcBootstrap = v['grpc-bootstrap'] as string | undefined;
  const xdsServer = (v['xds-server'] as string | undefined) ?? control;
  if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(xdsServer)) throw new OptionsError(`--xds-server: expected HOST:PORT, got '${xdsServer}'`);
  const appPort = v['app-port'] as number | undefined;
  if (appPort !== undefined && (!Number.isInteger(appPort) || appPort < 1 || appPort > 65535)) throw new OptionsError(`--app-port: expected a port 1-65535, got ${appPort}`);
  if (grpcBootstrap === undefined && (v['xds-server'] !== undefined || v.service !== undefined || appPort !== undefined || v.address !== undefined)) {
    throw new OptionsError('--xds-server, --service, --app-port and --address go with --grpc-bootstrap FILE');
  }
  let identity: WorkloadIdentity;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { claims } = readTokenFile(resolve(tokenFile));
    if (grpcBootstrap !== undefined) {
      const service = v.service as string | undefined;
      const address = v.address as string | undefined;
      const bootstrap = grpcXdsBootstrap({
        xdsServer, namespace: claims.ns, serviceAccount: claims.sa, certDir: dir, refreshMs: 5000,
        ...(service !== undefined ? { service } : {}), ...(address !== undefined ? { address } : {}), ...(appPort !== undefined ? { appPort } : {}),
      });
      writeAtomically(dirname(resolve(grpcBootstrap)), basename(grpcBootstrap), `${JSON.stringify(bootstrap, null, 2)}\n`, 0o644);
      log.info({ file: resolve(grpcBootstrap), xdsServer }, 'gRPC xDS bootstrap written (GRPC_XDS_BOOTSTRAP)');
    }
    identity = new WorkloadIdentity({
      target: control,
      credentials: new ControlTrust(controlCa === undefined || controlCa === '' ? null : resolve(controlCa)),
      tokenFile: resolve(tokenFile),
      ttlSeconds: Math.ceil(((v['workload-cert-ttl'] as number | undefined) ?? 0) / 1000),
      log,
      holdProcess: true,
      onSecrets: () => {
        const c = identity.certificate;
        if (c === null) return;
        try {
          writeCertificateFiles(dir, c);
          log.info({ dir, serial: c.serial, notAfter: new Date(c.notAfter).toISOString() }, 'certificate files written');
        } catch (err) {
          log.error({ err, dir }, 'cannot write the certificate files; keeping the previous ones');
        }
      },
    });
  } catch (err) {
    reportStartFailure(log, 'agent', (err as Error).message);
    exitProcess(1);
  }
  const stop = new GracefulStop(log, 'agent').onSignals();
  const first = await identity.start();
  const readyLog = log.level === 'silent' ? log : log.child({}, { level: 'info' });
  readyLog.info({ dir, spiffeId: first.spiffeId, serial: first.serial, notAfter: new Date(first.notAfter).toISOString() }, 'agent ready');
  stop.started({ shutdown: () => Promise.resolve(identity.close()) });
  return 0;
}
