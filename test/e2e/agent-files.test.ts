// `isthmus agent --out DIR`: a proxyless app's certificate files, obtained by
// CSR from `isthmus control` and kept fresh, usable as they are for mutual TLS
// between two grpc-js processes' credentials (what grpc-js-xds's file_watcher
// provider reads).
import { afterEach, describe, expect, it } from 'vitest';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, credentials, Client, type ServiceError } from '@grpc/grpc-js';
import { spawnIsthmus, waitFor, type IsthmusProcess } from '../support/isthmus-process.js';
import { isthmus, startControl, type RunningControl } from '../control/e2e/control-harness.js';

let control: RunningControl | null = null;
let agent: IsthmusProcess | null = null;
const temps: string[] = [];

afterEach(async () => {
  await agent?.stop('SIGTERM', 10_000);
  agent = null;
  await control?.stop();
  control?.remove();
  control = null;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

const ECHO = {
  Echo: {
    path: '/test.Echo/Echo', requestStream: false, responseStream: false,
    requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b,
  },
};

/** A grpc-js server and client, each with mTLS credentials from `dir`'s files; resolves with the call's outcome. */
async function mtlsCall(serverDir: string, clientDir: string | null): Promise<{ ok: boolean; code?: number; peer?: string }> {
  const read = (dir: string, f: string) => readFileSync(join(dir, f));
  const server = new Server();
  let peerSan = '';
  server.addService(ECHO, {
    Echo: (call: { request: Buffer; getAuthContext?: () => { sslPeerCertificate?: { subjectaltname?: string } } }, cb: (e: null, r: Buffer) => void) => {
      peerSan = call.getAuthContext?.().sslPeerCertificate?.subjectaltname ?? '';
      cb(null, call.request);
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0',
    ServerCredentials.createSsl(read(serverDir, 'root-cert.pem'), [{ cert_chain: read(serverDir, 'cert-chain.pem'), private_key: read(serverDir, 'key.pem') }], true),
    (e, p) => (e ? rej(e) : res(p))));
  const creds = clientDir === null
    ? credentials.createSsl(read(serverDir, 'root-cert.pem'))
    : credentials.createSsl(read(clientDir, 'root-cert.pem'), read(clientDir, 'key.pem'), read(clientDir, 'cert-chain.pem'), { checkServerIdentity: () => undefined });
  const client = new Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
  try {
    return await new Promise((res) => {
      client.makeUnaryRequest(ECHO.Echo.path, (b: Buffer) => b, (b: Buffer) => b, Buffer.from('hi'), { deadline: Date.now() + 5000 },
        (err: ServiceError | null) => res(err === null ? { ok: true, peer: peerSan } : { ok: false, code: err.code }));
    });
  } finally {
    client.close();
    server.forceShutdown();
  }
}

async function startAgent(c: RunningControl, sa: string, ttl: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-agent-'));
  temps.push(dir);
  const r = isthmus(['token', 'create', '--namespace', 'grpc', '--service-account', sa, '--control', `http://127.0.0.1:${c.adminPort}`, '--data-dir', c.dataDir], c.dir);
  expect(r.code, r.stderr).toBe(0);
  writeFileSync(join(dir, 'token'), r.stdout);
  const secure = (c.lines.find((l) => l.msg === 'control ready')!.secureXds as { port: number }).port;
  const p = await spawnIsthmus(['agent', '--out', join(dir, 'certs'), '--control', `127.0.0.1:${secure}`, '--control-ca', join(c.dataDir, 'root-cert.pem'),
    '--token-file', join(dir, 'token'), '--workload-cert-ttl', ttl, '--log-format', 'json'], { cwd: dir, readyMsg: 'agent ready', readyTimeoutMs: 20_000 });
  if (agent === null) agent = p;
  else agentsExtra.push(p);
  return join(dir, 'certs');
}
const agentsExtra: IsthmusProcess[] = [];
afterEach(async () => {
  for (const p of agentsExtra.splice(0)) await p.stop('SIGTERM', 10_000);
});

describe('isthmus agent --out DIR', () => {
  it('keeps cert-chain.pem, key.pem (0600) and root-cert.pem fresh; two apps use them for mutual TLS; a renewal replaces them', async () => {
    control = await startControl();
    const server = await startAgent(control, 'echo-server', '6s');
    const client = await startAgent(control, 'echo-client', '1h');
    expect(statSync(join(server, 'key.pem')).mode & 0o777).toBe(0o600);
    const leaf = new X509Certificate(readFileSync(join(server, 'cert-chain.pem')));
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/grpc/sa/echo-server');
    expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(server, 'key.pem'))))).toBe(true);
    expect(readFileSync(join(server, 'root-cert.pem'), 'utf8')).toBe(readFileSync(join(control.dataDir, 'root-cert.pem'), 'utf8'));
    const mutual = await mtlsCall(server, client);
    expect(mutual).toEqual({ ok: true, peer: 'URI:spiffe://cluster.local/ns/grpc/sa/echo-client' });
    // Without a client certificate the server (requiring one) refuses.
    expect((await mtlsCall(server, null)).ok).toBe(false);
    // The 6 s certificate is renewed at about 3 s: new serial, key still matching.
    await waitFor('the files renewed', () => new X509Certificate(readFileSync(join(server, 'cert-chain.pem'))).serialNumber !== leaf.serialNumber, 15_000);
    const renewed = new X509Certificate(readFileSync(join(server, 'cert-chain.pem')));
    expect(renewed.checkPrivateKey(createPrivateKey(readFileSync(join(server, 'key.pem'))))).toBe(true);
    expect((await mtlsCall(server, client)).ok).toBe(true);
  }, 60_000);
});

