// SDS Secrets over ADS (issue 12.3): the control plane serves the mesh trust
// bundle as the Secret `ROOTCA` on the same ADS stream, so a root rotation
// reaches proxies at once, not at their next certificate renewal; a static
// bootstrap naming ROOTCA with `sds_config: {ads: {}}` gets it from there (its
// listener waits until it has arrived); and nobody gets a `default` (a
// workload key) from the control plane.
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../control/xds/protos.js';
import { decodeAny, deltaClient, node, sotwClient, type DeltaDiscoveryResponse, type DiscoveryResponse } from '../control/xds/ads-test-client.js';
import { isthmus, securePort, startControl, startMeshSidecar, tokenFile, type RunningControl } from '../control/e2e/control-harness.js';
import { spawnIsthmus, type IsthmusProcess } from '../support/isthmus-process.js';
import { chainsListener, staticCluster } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';
import { admin, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

let control: RunningControl | null = null;
let proxies: RunningProxy[] = [];
let upstream: Upstream | null = null;
const agents: IsthmusProcess[] = [];
const temps: string[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await Promise.all(agents.splice(0).map((a) => a.stop('SIGTERM', 5000)));
  await upstream?.close();
  proxies = [];
  upstream = null;
  await control?.stop();
  control?.remove();
  control = null;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

const certCount = (pem: string): number => pem.split('BEGIN CERTIFICATE').length - 1;

/** `isthmus agent --out DIR` for service account `sa`; resolves once its files are written. */
async function agentFiles(c: RunningControl, sa: string, controlCa = join(c.dataDir, 'root-cert.pem')): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-sds-agent-'));
  temps.push(dir);
  const out = join(dir, 'certs');
  agents.push(await spawnIsthmus(['agent', '--out', out, '--control', `127.0.0.1:${securePort(c)}`, '--control-ca', controlCa,
    '--token-file', tokenFile(c, sa), '--workload-cert-ttl', '1h', '--log-format', 'json'], { cwd: dir, readyMsg: 'agent ready', readyTimeoutMs: 20_000 }));
  return out;
}

/** One mTLS GET with the files of `isthmus agent`; `agent` (keep-alive) to reuse a connection. */
function mtlsGet(port: number, certs: string, agent?: https.Agent): Promise<{ status: number; localPort: number }> {
  return new Promise((resolve, reject) => {
    const read = (f: string) => readFileSync(join(certs, f));
    const req = https.request({
      host: '127.0.0.1', port, path: '/sds', timeout: 5000, ...(agent !== undefined ? { agent } : { agent: false }),
      cert: read('cert-chain.pem'), key: read('key.pem'), ca: read('root-cert.pem'), checkServerIdentity: () => undefined,
    }, (res) => {
      const localPort = res.socket?.localPort ?? 0;
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, localPort }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

interface SecretsBody {
  secrets: { name: string; source?: string; serial_number?: string; trusted_ca?: { serial_number: string }[]; cert_chain?: { issuer: string }[] }[];
  waiting?: { name: string }[];
}

async function secretsOf(p: RunningProxy): Promise<SecretsBody> {
  return JSON.parse((await admin(p, '/secrets')).body) as SecretsBody;
}

describe('SDS secrets over ADS', () => {
  it('a root rotation reaches a proxy through the ADS ROOTCA push alone: it accepts a peer from the new root, open connections go on', async () => {
    // 12 s phases: the first only has to outlast the checks below (both hold in either phase); the second, the new-root
    // agent and two requests before the old root retires (2 x 12 s after rotate). 30 s phases cost 18 s of waiting.
    control = await startControl(undefined, undefined, ['--push-debounce-quiet', '20ms', '--root-rotation-overlap', '12s']);
    upstream = await startUpstream();
    // A 1 h certificate: this sidecar does not renew (nor learn roots by CSR) during the test.
    const server = await startMeshSidecar(control, { service: 'reviews', appPort: upstream.port, args: ['--workload-cert-ttl', '1h'] });
    proxies.push(server);
    const inbound = server.ports.get('inbound')!;
    // ROOTCA comes from the CSR answer until the ADS push lands (both at start): wait for the push.
    const before = await waitFor('ROOTCA from ADS', async () => {
      const s = await secretsOf(server);
      return s.secrets.find((x) => x.name === 'ROOTCA')?.source === 'ADS' ? s : null;
    }, 10_000);
    const serverSerial = before.secrets.find((s) => s.name === 'default')!.serial_number;
    const rootca = before.secrets.find((s) => s.name === 'ROOTCA')!;
    expect(rootca.source).toBe('ADS');
    expect(rootca.trusted_ca).toHaveLength(1);

    // A client under the old root, on a keep-alive connection made before the rotation.
    const oldCerts = await agentFiles(control, 'old-client');
    // The control plane's own serving certificate stays under the root it started with.
    const startRoot = join(control.dir, 'start-root.pem');
    writeFileSync(startRoot, readFileSync(join(control.dataDir, 'root-cert.pem')));
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await mtlsGet(inbound, oldCerts, keepAlive);
    expect(first.status).toBe(200);

    const rotate = isthmus(['ca', 'rotate', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
    expect(rotate.code, rotate.stderr).toBe(0);
    // The bundle with both roots arrives over ADS at once (phases of 12 s: the new root signs after the first).
    await waitFor('ROOTCA with both roots', async () => (await secretsOf(server)).secrets.find((s) => s.name === 'ROOTCA')?.trusted_ca?.length === 2, 10_000);

    // `isthmus proxy-config secrets` says where each came from.
    const table = isthmus(['proxy-config', 'secrets', `127.0.0.1:${server.adminPort}`], control.dir);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^default\s+workload identity \(CSR\)\s+spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews/m);
    expect(table.stdout).toMatch(/^ROOTCA\s+ADS\s/m);
    expect(table.stdout).toMatch(/^\s+ROOTCA\[1\]\s/m);
    expect(table.stdout).not.toContain('PRIVATE KEY');
    await waitFor('the new root signs', () => {
      const r = isthmus(['ca', 'status', '--control', `http://127.0.0.1:${control!.adminPort}`, '--data-dir', control!.dataDir], control!.dir);
      return (JSON.parse(r.stdout) as { phase: string }).phase === 'signing-with-new-root';
    }, 45_000); // the phase begins 12 s after rotate (on the CA's tick); a loaded machine needs the margin
    const newCerts = await agentFiles(control, 'new-client', startRoot);
    // Two roots (each with its own subject since the rotation fix): tell them apart by signature.
    const oldRoot = new X509Certificate(readFileSync(startRoot));
    expect(new X509Certificate(readFileSync(join(oldCerts, 'cert-chain.pem'))).verify(oldRoot.publicKey)).toBe(true);
    expect(new X509Certificate(readFileSync(join(newCerts, 'cert-chain.pem'))).verify(oldRoot.publicKey)).toBe(false);

    // The sidecar still holds its first certificate (no CSR since), yet trusts the new root.
    const after = await secretsOf(server);
    expect(after.secrets.find((s) => s.name === 'default')!.serial_number).toBe(serverSerial);
    const viaNew = await mtlsGet(inbound, newCerts).catch((e: Error) => { throw new Error(`new-root client: ${e.message}; bundle has ${certCount(readFileSync(join(newCerts, "root-cert.pem"), "utf8"))}`); });
    expect(viaNew.status).toBe(200);
    // The connection opened before the new Secret keeps serving (a Secret applies to new handshakes).
    const again = await mtlsGet(inbound, oldCerts, keepAlive).catch((e: Error) => { throw new Error(`kept connection: ${e.message}`); });
    expect(again).toEqual({ status: 200, localPort: first.localPort });
    keepAlive.destroy();

  }, 120_000);

  it('a static bootstrap naming ROOTCA with sds_config ads gets it from the control plane; its listener warms until then', async () => {
    const ca = new TestCa();
    temps.push(ca.dir);
    const leaf = ca.leaf({ cn: 'server', dns: ['server.test'] });
    const foreign = ca.leaf({ cn: 'foreign-client', dns: ['client.test'] });
    upstream = await startUpstream();
    // The control plane is not there yet: the proxy starts with its listener held back, port closed.
    const reserved = await import('node:net').then((net) => new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    }));
    const listenerPort = await import('node:net').then((net) => new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    }));
    const bootstrap = {
      static_resources: {
        listeners: [chainsListener('mtls', [{
          transportSocket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
              require_client_certificate: true,
              common_tls_context: {
                tls_certificates: [{ certificate_chain: { filename: leaf.certPath }, private_key: { filename: leaf.keyPath } }],
                validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {}, resource_api_version: 'V3' } },
              },
            },
          },
        }], { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] }, false)],
        clusters: [staticCluster('app', upstream.port)],
      },
    };
    (bootstrap.static_resources.listeners[0] as { address: { socket_address: { port_value: number } } }).address.socket_address.port_value = listenerPort;
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-sds-static-'));
    temps.push(dir);
    const bootstrapPath = join(dir, 'bootstrap.yaml');
    writeFileSync(bootstrapPath, JSON.stringify(bootstrap));
    const proxy = await spawnIsthmus(['proxy', '--bootstrap', bootstrapPath, '--control', `127.0.0.1:${reserved}`, '--service', 'edge', '--outbound-port', '0',
      '--admin-port', '0', '--data-dir', join(dir, 'data'), '--log-format', 'json', '--xds-protocol', 'sotw'], { cwd: dir, readyMsg: 'warming until the SDS secrets they name arrive', readyTimeoutMs: 20_000 });
    agents.push(proxy);
    // Warming: nothing listens (no plaintext, no TLS without its trust bundle).
    await expect(mtlsGetRaw(listenerPort, leaf.certPath, leaf.keyPath, ca.certPath)).rejects.toThrow(/ECONNREFUSED/);

    control = await startControl(undefined, undefined, ['--xds-port', String(reserved)]);
    const meshCerts = await agentFiles(control, 'edge-client');
    const mesh = (f: string): string => join(meshCerts, f);
    await waitFor('the listener with ROOTCA from ADS', async () => (await mtlsGetRaw(listenerPort, mesh('cert-chain.pem'), mesh('key.pem'), ca.certPath).catch(() => 0)) === 200, 20_000);
    // ROOTCA is the mesh's: a client certificate from another CA is refused.
    await expect(mtlsGetRaw(listenerPort, foreign.certPath, foreign.keyPath, ca.certPath)).rejects.toThrow();
  }, 90_000);

  it('serves ROOTCA to whoever asks, SotW and delta, and never a default (workload key) nor a name it does not have', async () => {
    control = await startControl();
    const bundle = readFileSync(join(control.dataDir, 'root-cert.pem'), 'utf8');
    const sotw = sotwClient(control.xdsPort);
    try {
      sotw.send({ node: node('asker'), type_url: TYPE_URL.SECRET, resource_names: ['default', 'ROOTCA', 'spiffe://cluster.local/ns/default/sa/reviews'] });
      const r: DiscoveryResponse = await sotw.next(5000);
      expect(r.type_url).toBe(TYPE_URL.SECRET);
      const secrets = r.resources.map((a) => decodeAny(a) as { name: string; validation_context?: { trusted_ca?: { inline_string?: string } }; tls_certificate?: unknown });
      expect(secrets.map((s) => s.name)).toEqual(['ROOTCA']);
      expect(secrets[0]!.validation_context?.trusted_ca?.inline_string).toBe(bundle);
      expect(secrets[0]!.tls_certificate).toBeFalsy();
      // Asking for default alone gets an empty answer.
      sotw.send({ type_url: TYPE_URL.SECRET, resource_names: ['default'], version_info: r.version_info, response_nonce: r.nonce });
      expect(await sotw.quiet(500)).toBe(true);
    } finally {
      sotw.close();
    }
    const delta = deltaClient(control.xdsPort);
    try {
      delta.send({ node: node('asker-delta'), type_url: TYPE_URL.SECRET, resource_names_subscribe: ['default', 'ROOTCA'] });
      const r: DeltaDiscoveryResponse = await delta.next(5000);
      expect(r.resources.map((x) => x.name)).toEqual(['ROOTCA']);
    } finally {
      delta.close();
    }
  }, 60_000);
});

/** An mTLS GET with explicit files (for certificates made in the test). */
function mtlsGetRaw(port: number, cert: string, key: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/sds', agent: false, timeout: 5000,
      cert: readFileSync(cert), key: readFileSync(key), ca: readFileSync(ca), checkServerIdentity: () => undefined,
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

void certCount;
