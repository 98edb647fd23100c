// TCP (tcp_proxy) ports between two sidecars with workload identities, real
// processes and certificates: the client sidecar originates mTLS to the db
// sidecar's inbound port by auto mTLS, and the db sidecar's inbound chain
// terminates it per PeerAuthentication, as for HTTP ports: the server side's
// istio_tcp_* metrics name the caller's SPIFFE ID with
// connection_security_policy="mutual_tls". PERMISSIVE (nothing said) also takes
// plaintext on the same port; STRICT refuses it; a port-level DISABLE takes
// plaintext only and the client sidecar then sends plaintext.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, startControl, type RunningControl, securePort, tokenFile } from '../control/e2e/control-harness.js';
import { admin, configDump, startProxy, waitFor, type RunningProxy } from './harness.js';
import { freePort } from '../../bench/peers.js';
import { exchange, startTcpEcho, type TcpServer } from '../support/tcp-peers.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms'];
const CLIENT_ID = 'spiffe://cluster.local/ns/default/sa/client';
const DB_ID = 'spiffe://cluster.local/ns/default/sa/db';

let control: RunningControl | null = null;
let echo: TcpServer | null = null;
let proxies: RunningProxy[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  proxies = [];
  await echo?.close();
  echo = null;
  await control?.stop();
  control?.remove();
  control = null;
});

/** The control plane with the db ServiceEntry (a TCP port) and `extra` YAML; the db sidecar in front of an echo app, and a client sidecar. */
async function mesh(extra: (appPort: number) => string): Promise<{ db: RunningProxy; client: RunningProxy; servicePort: number }> {
  echo = await startTcpEcho();
  const servicePort = await freePort();
  const appPort = echo.port;
  control = await startControl((dir) => writeFileSync(join(dir, 'db.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${servicePort}, name: tcp-db}]
  workloadSelector: {labels: {app: db}}
---
# The db sidecar needs no outbound listener of its own on 127.0.0.1:<service port> (the client's is the one under test).
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: db, namespace: default}
spec:
  workloadSelector: {labels: {app: db}}
  egress: [{hosts: [istio-system/*]}]
${extra(appPort)}`), undefined, CONTROL_ARGS);
  const c = control;
  const sidecar = async (service: string, more: string[]): Promise<RunningProxy> => {
    const p = await startProxy({ control: `127.0.0.1:${securePort(c)}`, args: ['--service', service, '--namespace', 'default', '--outbound-port', '0',
      '--drain-timeout', '1s', '--token-file', tokenFile(c, service), '--control-ca', join(c.dataDir, 'root-cert.pem'), ...more] });
    proxies.push(p);
    return p;
  };
  const db = await sidecar('db', ['--app-port', String(appPort), '--service-port', String(servicePort), '--inbound-port', '0']);
  const client = await sidecar('client', []);
  await waitFor('the client\'s outbound TCP listener and the db endpoint', async () => {
    const dump = JSON.stringify(await configDump(client));
    return dump.includes(`"tcpProxy":{"statPrefix":"outbound_tcp_${servicePort}"`) && dump.includes('"address":"127.0.0.1"');
  }, 20_000);
  return { db, client, servicePort };
}

/** Sends 64 KiB through `port` and expects every byte back. */
async function echoes(port: number): Promise<boolean> {
  const data = randomBytes(64 * 1024);
  const got = await exchange(port, data, 5000).catch(() => Buffer.alloc(0));
  return got.equals(data);
}

/** istio_tcp_connections_opened_total lines of a sidecar. */
async function tcpOpened(p: RunningProxy): Promise<string[]> {
  return (await admin(p, '/stats/prometheus')).body.split('\n').filter((l) => l.startsWith('istio_tcp_connections_opened_total{'));
}

const inbound = (p: RunningProxy): number => p.ports.get('inbound')!;

describe('mTLS on TCP ports between sidecars', { timeout: 90_000 }, () => {
  it('PERMISSIVE: TCP through both sidecars is mTLS (the server sees the client\'s SPIFFE ID), and plaintext on the same port works too', async () => {
    const { db, servicePort } = await mesh(() => '');
    expect(await waitFor('an echo through the mesh', () => echoes(servicePort).then((ok) => ok || undefined), 20_000)).toBe(true);
    const lines = await tcpOpened(db);
    const mtls = lines.find((l) => l.includes(`source_principal="${CLIENT_ID}"`));
    expect(mtls, lines.join('\n')).toMatch(new RegExp(`destination_principal="${DB_ID}".*connection_security_policy="mutual_tls"`));
    // Plaintext straight to the inbound port (a client without a sidecar): accepted, counted as policy "none".
    expect(await echoes(inbound(db))).toBe(true);
    expect((await tcpOpened(db)).some((l) => l.includes('source_principal="unknown"') && l.includes('connection_security_policy="none"'))).toBe(true);
  });

  it('STRICT (by portLevelMtls on the app port): the mesh path is mTLS and a plaintext TCP client is refused', async () => {
    const { db, servicePort } = await mesh((appPort) => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: db, namespace: default}
spec:
  selector: {matchLabels: {app: db}}
  mtls: {mode: PERMISSIVE}
  portLevelMtls:
    ${appPort}: {mode: STRICT}
`);
    expect(await waitFor('an echo through the mesh', () => echoes(servicePort).then((ok) => ok || undefined), 20_000)).toBe(true);
    expect((await tcpOpened(db)).some((l) => l.includes(`source_principal="${CLIENT_ID}"`) && l.includes('mutual_tls'))).toBe(true);
    const before = await tcpOpened(db);
    expect(await echoes(inbound(db))).toBe(false);
    // Nothing reached the tcp_proxy: no new connection was counted.
    expect(await tcpOpened(db)).toEqual(before);
  });

  it('DISABLE for the workload under a STRICT mesh: plaintext is taken, and the client sidecar sends plaintext (auto mTLS)', async () => {
    const { db, servicePort } = await mesh(() => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: db, namespace: default}
spec:
  selector: {matchLabels: {app: db}}
  mtls: {mode: DISABLE}
`);
    expect(await echoes(inbound(db))).toBe(true);
    expect(await waitFor('an echo through the mesh', () => echoes(servicePort).then((ok) => ok || undefined), 20_000)).toBe(true);
    const lines = await tcpOpened(db);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('mutual_tls')), lines.join('\n')).toBe(false);
  });
});
