// The proxy's workload identity end to end: `isthmus control` is the CA, a
// bootstrap token from `isthmus token create`, and `isthmus proxy --control
// --token-file` gets its certificate by CSR over TLS, serves it on a listener
// that names the SDS secrets `default` and `ROOTCA`, and renews it under load.
import { afterEach, describe, expect, it } from 'vitest';
import https from 'node:https';

import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { admin, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { isthmus, startControl, type RunningControl, securePort } from '../control/e2e/control-harness.js';
import { chainsListener, staticCluster } from '../support/tls-bootstrap.js';

let control: RunningControl | null = null;
let proxy: RunningProxy | null = null;
let upstream: Upstream | null = null;
const leftovers: (() => void)[] = [];

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
  await control?.stop();
  control?.remove();
  control = null;
  await upstream?.close();
  upstream = null;
  for (const f of leftovers.splice(0)) f();
});

const SDS_TLS = {
  name: 'envoy.transport_sockets.tls',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    common_tls_context: {
      tls_certificate_sds_secret_configs: [{ name: 'default', sds_config: { ads: {}, resource_api_version: 'V3' } }],
      combined_validation_context: {
        default_validation_context: {},
        validation_context_sds_secret_config: { name: 'ROOTCA', sds_config: { ads: {}, resource_api_version: 'V3' } },
      },
    },
  },
};

function bootstrap(upstreamPort: number): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [chainsListener('inbound_tls', [{ transportSocket: SDS_TLS }], {
        virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }],
      }, false)],
      clusters: [staticCluster('app', upstreamPort)],
    },
  };
}

function token(c: RunningControl, ns: string, sa: string): string {
  const r = isthmus(['token', 'create', '--namespace', ns, '--service-account', sa, '--control', `http://127.0.0.1:${c.adminPort}`, '--data-dir', c.dataDir], c.dir);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** One HTTPS GET that checks the proxy's certificate against the CA root and returns the certificate's serial. */
function get(port: number, ca: string): Promise<{ status: number; serial: string; san: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', ca, servername: 'localhost', agent: false,
      checkServerIdentity: () => undefined, timeout: 5000 }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial: cert?.serialNumber ?? '', san: cert?.subjectAltName ?? '' }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

async function startIdentityProxy(ttl: string, workers: number): Promise<{ root: string }> {
  control = await startControl();
  upstream = await startUpstream();
  const dir = control.dir;
  writeFileSync(join(dir, 'token'), token(control, 'default', 'reviews'));
  const root = readFileSync(join(control.dataDir, 'root-cert.pem'), 'utf8');
  proxy = await startProxy({
    bootstrap: bootstrap(upstream.port),
    control: `127.0.0.1:${securePort(control)}`,
    workers,
    args: ['--service', 'reviews', '--token-file', join(dir, 'token'), '--control-ca', join(control.dataDir, 'root-cert.pem'), '--workload-cert-ttl', ttl],
    readyTimeoutMs: 30_000,
  });
  return { root };
}

describe('workload identity from the control plane CA', () => {
  it('serves a certificate for its SPIFFE identity on a listener naming SDS default/ROOTCA, visible in /certs and /secrets, with no key under the data dir', async () => {
    const { root } = await startIdentityProxy('1h', 2);
    const r = await get(proxy!.ports.get('inbound_tls')!, root);
    expect(r.status).toBe(200);
    expect(r.san).toBe('URI:spiffe://cluster.local/ns/default/sa/reviews');
    const certs = JSON.parse((await admin(proxy!, '/certs')).body) as { certificates: { cert_chain: { serial_number: string; subject_alt_names: { uri?: string }[] }[] }[] };
    expect(certs.certificates[0]!.cert_chain[0]!.subject_alt_names).toEqual([{ uri: 'spiffe://cluster.local/ns/default/sa/reviews' }]);
    expect(certs.certificates[0]!.cert_chain[0]!.serial_number.toLowerCase()).toBe(r.serial.toLowerCase());
    const secrets = (await admin(proxy!, '/secrets')).body;
    expect(secrets).toContain('"spiffe_id": "spiffe://cluster.local/ns/default/sa/reviews"');
    expect(secrets).toContain('"name": "ROOTCA"');
    expect(secrets).not.toContain('PRIVATE KEY');
    const cli = isthmus(['proxy-config', 'secrets', `127.0.0.1:${proxy!.adminPort}`], control!.dir);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`default\\s+workload identity \\(CSR\\)\\s+spiffe://cluster.local/ns/default/sa/reviews\\s+${r.serial.toLowerCase()}`));
    expect(cli.stdout).not.toContain('PRIVATE KEY');
    // The data dir (LMDB with two workers) holds the config, never the key.
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d)) {
        const p = join(d, e);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(join(proxy!.dir, 'data'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes('PRIVATE KEY'), f).toBe(false);
      expect(bytes.includes('BEGIN CERTIFICATE'), f).toBe(false);
    }
  }, 60_000);

  it('with a 10 s certificate, rotates at least twice under steady TLS load with no failed request', async () => {
    const { root } = await startIdentityProxy('10s', 1);
    const port = proxy!.ports.get('inbound_tls')!;
    const serials = new Set<string>();
    let ok = 0;
    const failures: string[] = [];
    const deadline = Date.now() + 25_000;
    const loop = async (): Promise<void> => {
      while (Date.now() < deadline && serials.size < 3) {
        try {
          const r = await get(port, root);
          if (r.status === 200) ok++;
          else failures.push(`status ${r.status}`);
          serials.add(r.serial);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    await Promise.all([loop(), loop(), loop()]);
    expect(failures).toEqual([]);
    expect([...serials].every((s) => /^[0-9A-F]{32}$/i.test(s)), [...serials].join(' ')).toBe(true);
    expect(serials.size).toBeGreaterThanOrEqual(3);
    expect(ok).toBeGreaterThan(10);
    const rotated = proxy!.lines.filter((l) => l.msg === 'workload certificate rotated');
    expect(rotated.length).toBeGreaterThanOrEqual(2);
    expect((await admin(proxy!, '/ready')).status).toBe(200);
  }, 60_000);

  it('keeps serving on its certificate while the CA is away, is not ready only near expiry, and renews once the CA is back', async () => {
    const { root } = await startIdentityProxy('20s', 2);
    const port = proxy!.ports.get('inbound_tls')!;
    const first = await get(port, root);
    expect(first.status).toBe(200);
    const dirs = { configDir: control!.configDir, dataDir: control!.dataDir };
    const secure = securePort(control!);
    await control!.stop();
    // The CA is gone: requests still succeed on the current certificate, and /ready says why only near expiry.
    expect((await get(port, root)).status).toBe(200);
    await waitFor('a failed renewal logged', () => proxy!.lines.some((l) => l.msg === 'workload certificate request failed; retrying'), 15_000);
    const notReady = await waitFor('not ready near expiry', async () => {
      const r = await admin(proxy!, '/ready');
      return r.status === 503 ? r.body : undefined;
    }, 30_000);
    expect(notReady).toMatch(/the workload certificate (expires|expired) at/);
    const restarted = await startControl(undefined, dirs, ['--secure-xds-port', String(secure)]);
    const old = control!;
    control = restarted;
    leftovers.push(() => old.remove());
    await waitFor('ready again after renewal', async () => (await admin(proxy!, '/ready')).status === 200, 20_000);
    // /ready is the agent's view; each of the two workers takes the new certificate with its next config version.
    const after = await waitFor('the renewed certificate served', async () => {
      const r = await get(port, root);
      return r.status === 200 && r.serial !== first.serial ? r : undefined;
    }, 20_000);
    expect(after.serial).not.toBe(first.serial);
  }, 120_000);
});
