// Root rotation under load (issue 12.7): `isthmus ca rotate` while requests
// flow app -> sidecar -> mTLS -> sidecar -> app and straight mTLS handshakes
// (a workload certificate from `isthmus agent`) reach the server sidecar.
// With 4 s workload certificates and 5 s phases, the new root is trusted,
// then signs, then the old root is retired, and no request fails.
import https from 'node:https';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, securePort, startControl, startMeshSidecar, tokenFile, type RunningControl } from '../control/e2e/control-harness.js';
import { spawnIsthmus, type IsthmusProcess } from '../support/isthmus-process.js';
import { keepAliveAgent, outboundPort, request, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

let control: RunningControl | null = null;
let proxies: RunningProxy[] = [];
let upstream: Upstream | null = null;
let agent: IsthmusProcess | null = null;
const extraAgents: IsthmusProcess[] = [];
const temps: string[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await agent?.stop('SIGTERM', 5000);
  await Promise.all(extraAgents.splice(0).map((a) => a.stop('SIGTERM', 5000)));
  await upstream?.close();
  proxies = [];
  agent = null;
  upstream = null;
  await control?.stop();
  control?.remove();
  control = null;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

async function meshSidecar(c: RunningControl, service: string, appPort?: number): Promise<RunningProxy> {
  const p = await startMeshSidecar(c, { service, ...(appPort !== undefined ? { appPort } : {}), args: ['--workload-cert-ttl', '4s'] });
  proxies.push(p);
  return p;
}

/** One mTLS request to the server sidecar's inbound port with the agent's current files; `ca` overrides the trust bundle. */
function mtlsGet(port: number, certs: string, ca?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const read = (f: string) => readFileSync(join(certs, f));
    const req = https.request({
      host: '127.0.0.1', port, path: '/direct', agent: false, timeout: 5000,
      cert: read('cert-chain.pem'), key: read('key.pem'), ca: ca ?? read('root-cert.pem'), checkServerIdentity: () => undefined,
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

function ca(c: RunningControl, verb: string): Record<string, unknown> {
  const r = isthmus(['ca', verb, '--control', `http://127.0.0.1:${c.adminPort}`, '--data-dir', c.dataDir], c.dir);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const certCount = (pem: string): number => pem.split('BEGIN CERTIFICATE').length - 1;

/** One TLS handshake with the control plane's secure port trusting `ca`; resolves with the verify error, or null when it verified. */
function controlHandshake(port: number, ca: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'], timeout: 5000 }, () => {
      socket.destroy();
      resolve(null);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(`${e.code ?? ''} ${e.message}`));
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
  });
}

/** The issuer CN of the certificate the control plane's secure port serves now (no verification). */
function servedIssuer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'], timeout: 5000 }, () => {
      const issuer = socket.getPeerCertificate().issuer.CN;
      socket.destroy();
      resolve(Array.isArray(issuer) ? issuer.join(',') : issuer);
    });
    socket.on('error', reject);
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
  });
}

/** Starts `isthmus agent` trusting `caFile` for the control plane; resolves once it holds a workload certificate. */
async function agentWith(c: RunningControl, caFile: string, name: string, ttl = '60s'): Promise<IsthmusProcess> {
  const dir = mkdtempSync(join(tmpdir(), `isthmus-rotation-${name}-`));
  temps.push(dir);
  const p = await spawnIsthmus(['agent', '--out', join(dir, 'certs'), '--control', `127.0.0.1:${securePort(c)}`, '--control-ca', caFile,
    '--token-file', tokenFile(c, 'curl'), '--workload-cert-ttl', ttl, '--log-format', 'json'], { cwd: dir, readyMsg: 'agent ready', readyTimeoutMs: 20_000 });
  extraAgents.push(p);
  expect(certCount(readFileSync(join(dir, 'certs', 'cert-chain.pem'), 'utf8'))).toBeGreaterThan(0);
  return p;
}

describe('root rotation', () => {
  it('rotates the root under load through both sidecars and direct mTLS handshakes with zero failed requests', async () => {
    control = await startControl(undefined, undefined, ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms', '--root-rotation-overlap', '5s']);
    upstream = await startUpstream();
    const server = await meshSidecar(control, 'reviews', upstream.port);
    const client = await meshSidecar(control, 'productpage');
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-rotation-'));
    temps.push(dir);
    agent = await spawnIsthmus(['agent', '--out', join(dir, 'certs'), '--control', `127.0.0.1:${securePort(control)}`, '--control-ca', join(control.dataDir, 'root-cert.pem'),
      '--token-file', tokenFile(control, 'curl'), '--workload-cert-ttl', '4s', '--log-format', 'json'], { cwd: dir, readyMsg: 'agent ready', readyTimeoutMs: 20_000 });
    const certs = join(dir, 'certs');
    const inboundPort = server.ports.get('inbound')!;
    await waitFor('the mesh path', async () => (await request(outboundPort(client), '/x', { headers: { host: 'reviews:9080' }, timeoutMs: 5000 })).status === 200, 20_000);
    const oldRoot = readFileSync(join(control.dataDir, 'root-cert.pem'), 'utf8');
    expect(ca(control, 'status').phase).toBe('none');

    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const meshLoop = async (): Promise<void> => {
      while (running) {
        const r = await request(outboundPort(client), '/mesh', { headers: { host: 'reviews:9080' }, agent: keepAliveAgent, timeoutMs: 5000 })
          .catch((e: Error) => ({ status: 0, body: e.message }));
        if (r.status === 200) ok++;
        else failures.push(`mesh ${r.status} ${r.body}`);
      }
    };
    const directLoop = async (): Promise<void> => {
      while (running) {
        // The agent replaces its files by rename; a request between two renames may pair an old key with a new chain.
        const status = await mtlsGet(inboundPort, certs).catch((e: Error) => e.message);
        if (status === 200) ok++;
        else if (typeof status === 'string' && /key values mismatch|KEY_VALUES_MISMATCH/i.test(status)) continue;
        else failures.push(`direct ${status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const loops = [meshLoop(), meshLoop(), directLoop()];
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const started = ca(control, 'rotate');
      expect(started.phase).toBe('trusting-new-root');
      expect(certCount(readFileSync(join(control.dataDir, 'root-cert.pem'), 'utf8'))).toBe(2);
      // Retiring before the new root signs would strand proxies that have not renewed: refused.
      const early = isthmus(['ca', 'retire-old', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
      expect(early.code).toBe(1);
      expect(early.stderr).toContain('does not sign yet');
      await waitFor('the new root signs', () => ca(control!, 'status').phase === 'signing-with-new-root', 15_000);
      await waitFor('the old root retired', () => ca(control!, 'status').phase === 'none', 15_000);
      // Let every workload renew under the bundle without the old root, traffic still flowing.
      await new Promise((r) => setTimeout(r, 5000));
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    const newRoot = readFileSync(join(control.dataDir, 'root-cert.pem'), 'utf8');
    expect(certCount(newRoot)).toBe(1);
    expect(newRoot).not.toBe(oldRoot);
    // The server sidecar's certificate is now under the new root only.
    expect(await mtlsGet(inboundPort, certs, newRoot)).toBe(200);
    await expect(mtlsGet(inboundPort, certs, oldRoot)).rejects.toThrow();
  }, 120_000);

  it('re-issues the control plane\'s serving certificate at each phase: new clients trusting both roots, then only the new one, reach the secure port; open xDS streams stay', async () => {
    control = await startControl(undefined, undefined, ['--registration-grace', '500ms', '--root-rotation-overlap', '10s']);
    const port = securePort(control);
    const bundleFile = join(control.dataDir, 'root-cert.pem');
    const oldRoot = readFileSync(bundleFile, 'utf8');
    // A sidecar whose xDS stream over the secure port is open before the rotation.
    const sidecar = await meshSidecar(control, 'reviews');
    const streamOf = async (): Promise<number | undefined> => {
      const r = await control!.admin('/debug/syncz');
      const proxies = (JSON.parse(r.text) as { proxies: { streamId: number; service: string | null }[] }).proxies;
      return proxies.find((p) => p.service === 'reviews')?.streamId;
    };
    await waitFor('the sidecar\'s xDS stream', async () => (await streamOf()) !== undefined, 20_000);
    const stream = await streamOf();
    // An agent given a copy of the old root-cert.pem: it must learn the new root from its renewals.
    const oldCopy = join(control.dir, 'old-root.pem');
    writeFileSync(oldCopy, oldRoot);
    const early = await agentWith(control, oldCopy, 'early', '4s');

    ca(control, 'rotate');
    const both = readFileSync(bundleFile, 'utf8');
    expect(certCount(both)).toBe(2);
    // Two roots, two subjects: a chain never names an issuer two certificates answer to.
    const [a, b] = both.split(/(?<=-----END CERTIFICATE-----\n)/).map((pem) => new X509Certificate(pem));
    expect(a!.subject).not.toBe(b!.subject);
    expect(a!.subject).toContain('O=cluster.local');
    // While the new root is trusted but not yet signing.
    expect(await controlHandshake(port, both)).toBeNull();
    await agentWith(control, bundleFile, 'trusting');

    const cn = (pem: string): string => /CN=(.*)/.exec(new X509Certificate(pem).subject)![1]!;
    expect(await servedIssuer(port)).toBe(cn(oldRoot));
    await waitFor('the new root signs', () => ca(control!, 'status').phase === 'signing-with-new-root', 20_000);
    // The serving certificate is re-issued under the new root for new handshakes.
    await waitFor('the serving certificate under the new root', async () => (await servedIssuer(port)) !== cn(oldRoot), 5000);
    expect(await controlHandshake(port, both)).toBeNull();
    // A client that only knows the old root (it read root-cert.pem before the rotation) still verifies during the overlap.
    expect(await controlHandshake(port, oldRoot)).toBeNull();
    await agentWith(control, bundleFile, 'signing');

    if (ca(control, 'status').phase === 'signing-with-new-root') ca(control, 'retire-old');
    const newRoot = readFileSync(bundleFile, 'utf8');
    expect(certCount(newRoot)).toBe(1);
    expect(newRoot).not.toBe(oldRoot);
    expect(await controlHandshake(port, newRoot)).toBeNull();
    expect(await controlHandshake(port, oldRoot)).not.toBeNull();
    const onlyNew = join(control.dir, 'new-root.pem');
    writeFileSync(onlyNew, newRoot);
    await agentWith(control, onlyNew, 'retired');
    // The early agent keeps renewing over new connections after the old root is gone.
    const renewed = early.lines.length;
    await waitFor('the early agent renews after retire-old', () => early.lines.slice(renewed).some((l) => l.msg === 'certificate files written'), 15_000);
    // The sidecar's stream opened before the rotation is the same stream, still served.
    expect(await streamOf()).toBe(stream);
    expect(sidecar.child.exitCode).toBeNull();
  }, 120_000);
});
