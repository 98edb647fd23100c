// Sidecar mTLS from the control plane's config (issue 12.4-12.6), real
// processes and certificates: two sidecars with bootstrap tokens talk mTLS
// (app -> sidecar -> mTLS -> sidecar -> app) by auto mTLS, the app sees the
// caller's SPIFFE ID in x-forwarded-client-cert and a forged one is gone;
// PeerAuthentication STRICT refuses plaintext, a foreign CA's certificate and
// an expired one, and takes `curl --cert` with a workload certificate;
// PERMISSIVE takes plaintext and mTLS on one port.
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, securePort, startControl, startMeshSidecar, tokenFile, type RunningControl } from '../control/e2e/control-harness.js';
import { spawnIsthmus, type IsthmusProcess } from '../support/isthmus-process.js';
import {
  admin, outboundPort, request, startUpstream, waitFor, type RunningProxy, type Upstream,
} from './harness.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms'];
const STRICT = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
`;

let control: RunningControl | null = null;
let proxies: RunningProxy[] = [];
let upstreams: Upstream[] = [];
let agents: IsthmusProcess[] = [];
const temps: string[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await Promise.all(agents.map((a) => a.stop('SIGTERM', 5000)));
  await Promise.all(upstreams.map((u) => u.close()));
  proxies = [];
  agents = [];
  upstreams = [];
  await control?.stop();
  control?.remove();
  control = null;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

/** A sidecar with a workload identity (token), over the control plane's TLS port. */
async function meshSidecar(c: RunningControl, service: string, appPort?: number): Promise<RunningProxy> {
  const p = await startMeshSidecar(c, { service, ...(appPort !== undefined ? { appPort } : {}) });
  proxies.push(p);
  return p;
}

/** `isthmus agent` certificate files for service account `sa` (a workload certificate a curl can present). */
async function workloadCert(c: RunningControl, sa: string, ttl = '1h'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-mtls-'));
  temps.push(dir);
  const a = await spawnIsthmus(['agent', '--out', join(dir, 'certs'), '--control', `127.0.0.1:${securePort(c)}`, '--control-ca', join(c.dataDir, 'root-cert.pem'),
    '--token-file', tokenFile(c, sa), '--workload-cert-ttl', ttl, '--log-format', 'json'], { cwd: dir, readyMsg: 'agent ready', readyTimeoutMs: 20_000 });
  agents.push(a);
  return join(dir, 'certs');
}

interface CurlResult { code: number; status: number; body: string; stderr: string }

/**
 * curl over TLS to the inbound port (the sidecar's SAN is a SPIFFE URI, so the host name is not checked). Async: the
 * app answering is in this process.
 */
function curl(port: number, certs: string | null, caFile: string, extra: string[] = []): Promise<CurlResult> {
  const args = ['-sS', '--max-time', '5', '-o', '-', '-w', '\n%{http_code}', '--cacert', caFile, '-k',
    ...(certs === null ? [] : ['--cert', join(certs, 'cert-chain.pem'), '--key', join(certs, 'key.pem')]), ...extra,
    `https://127.0.0.1:${port}/hello`];
  return new Promise((resolve) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      const lines = stdout.split('\n');
      resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? -1), status: Number(lines.pop()), body: lines.join('\n'), stderr });
    });
  });
}

const inbound = (p: RunningProxy): number => p.ports.get('inbound')!;

describe('sidecar mTLS from the control plane', () => {
  it('two sidecars with tokens talk mTLS; the app sees the caller\'s SPIFFE ID in XFCC and a forged XFCC is gone; PERMISSIVE also takes plaintext', async () => {
    control = await startControl(undefined, undefined, CONTROL_ARGS);
    const app = await startUpstream();
    upstreams.push(app);
    const server = await meshSidecar(control, 'reviews', app.port);
    const client = await meshSidecar(control, 'productpage');
    const forged = 'By=spiffe://cluster.local/ns/default/sa/reviews;URI=spiffe://cluster.local/ns/default/sa/admin';
    const r = await waitFor('a request through both sidecars', async () => {
      const res = await request(outboundPort(client), '/hello', { headers: { host: 'reviews:9080', 'x-forwarded-client-cert': forged }, timeoutMs: 5000 });
      return res.status === 200 ? res : null;
    }, 20_000);
    expect(r.status).toBe(200);
    const xfcc = app.seen.at(-1)!.headers['x-forwarded-client-cert'] as string;
    // One element (the forged one was removed by the client's sidecar), by the server's identity, naming the caller.
    expect(xfcc).toMatch(/^By=spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews;Hash=[0-9a-f]{64};Subject="[^"]*";URI=spiffe:\/\/cluster\.local\/ns\/default\/sa\/productpage$/);
    // PERMISSIVE (nothing said): plaintext to the inbound port works too, and a forged XFCC is stripped.
    const plain = await request(inbound(server), '/hello', { headers: { host: 'reviews', 'x-forwarded-client-cert': forged }, timeoutMs: 5000 });
    expect(plain.status).toBe(200);
    expect(app.seen.at(-1)!.headers['x-forwarded-client-cert']).toBeUndefined();
    // And mTLS from a workload certificate on the same port.
    const certs = await workloadCert(control, 'curl');
    const viaCurl = await curl(inbound(server), certs, join(certs, 'root-cert.pem'));
    expect(viaCurl.status, viaCurl.stderr).toBe(200);
    expect(app.seen.at(-1)!.headers['x-forwarded-client-cert']).toContain('URI=spiffe://cluster.local/ns/default/sa/curl');
    // istio_requests_total on the server's sidecar tells mTLS callers (with both principals) from plaintext ones.
    const stats = (await admin(server, '/stats/prometheus')).body.split('\n').filter((l) => l.startsWith('istio_requests_total{'));
    const mesh = 'source_principal="spiffe://cluster.local/ns/default/sa/productpage"';
    expect(stats.find((l) => l.includes(mesh)), stats.join('\n'))
      .toMatch(/destination_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/reviews".*connection_security_policy="mutual_tls"/);
    expect(stats.some((l) => l.includes('source_principal="unknown"') && l.includes('connection_security_policy="none"')), stats.join('\n')).toBe(true);
  }, 90_000);

  it('STRICT refuses plaintext, no certificate, a foreign CA\'s certificate and an expired one; takes curl --cert with a workload certificate', async () => {
    control = await startControl((dir) => writeFileSync(join(dir, 'peer-auth.yaml'), STRICT), undefined, CONTROL_ARGS);
    const app = await startUpstream();
    upstreams.push(app);
    const server = await meshSidecar(control, 'reviews', app.port);
    const client = await meshSidecar(control, 'productpage');
    const ca = join(control.dataDir, 'root-cert.pem');
    const certs = await workloadCert(control, 'curl');
    await waitFor('STRICT reaches the sidecar', async () => (await curl(inbound(server), certs, ca)).status === 200, 20_000);
    // The mesh path still works (the client sidecar originates mTLS).
    const viaMesh = await request(outboundPort(client), '/hello', { headers: { host: 'reviews:9080' }, timeoutMs: 5000 });
    expect(viaMesh.status).toBe(200);
    // Plaintext: no filter chain takes it.
    await expect(request(inbound(server), '/hello', { headers: { host: 'reviews' }, timeoutMs: 3000 })).rejects.toThrow();
    // TLS without a client certificate.
    expect((await curl(inbound(server), null, ca)).status).not.toBe(200);
    // A certificate with the same SPIFFE ID from a foreign CA.
    const foreign = mkdtempSync(join(tmpdir(), 'isthmus-foreign-'));
    temps.push(foreign);
    const o = (args: string[]) => execFileSync('openssl', args, { cwd: foreign, stdio: ['ignore', 'ignore', 'pipe'] });
    o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=evil']);
    o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'key.pem', '-out', 'w.csr', '-subj', '/']);
    writeFileSync(join(foreign, 'ext'), 'subjectAltName=URI:spiffe://cluster.local/ns/default/sa/productpage\nextendedKeyUsage=clientAuth,serverAuth\n');
    o(['x509', '-req', '-in', 'w.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'cert-chain.pem', '-days', '1', '-extfile', 'ext']);
    expect((await curl(inbound(server), foreign, ca)).status).not.toBe(200);
    // An expired certificate of the mesh CA: a 2 s certificate, copied, then past its end.
    const shortLived = await workloadCert(control, 'expiring', '2s');
    const expired = join(foreign, 'expired');
    mkdirSync(expired);
    for (const f of ['cert-chain.pem', 'key.pem']) copyFileSync(join(shortLived, f), join(expired, f));
    const notAfter = execFileSync('openssl', ['x509', '-noout', '-enddate', '-in', join(expired, 'cert-chain.pem')], { encoding: 'utf8' });
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(notAfter.split('=')[1]!) - Date.now()) + 1500));
    expect((await curl(inbound(server), expired, ca)).status).not.toBe(200);
    expect(readFileSync(join(expired, 'cert-chain.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
  }, 90_000);
});
