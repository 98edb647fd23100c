// Proxyless gRPC with mTLS (issue 12.8): a @grpc/grpc-js-xds client with
// XdsChannelCredentials calls a @grpc/grpc-js-xds XdsServer with
// XdsServerCredentials, both configured only by `isthmus control`
// (DestinationRule ISTIO_MUTUAL: the client's cluster carries an
// UpstreamTlsContext with certificate provider instances; PeerAuthentication
// STRICT: the server's Listener a DownstreamTlsContext requiring a client
// certificate), each with the bootstrap and certificate files of its own
// `isthmus agent --out DIR --grpc-bootstrap FILE`. A caller without a mesh
// certificate is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isthmus, ROOT, startControl, waitFor, type RunningControl, tokenFile } from '../control/e2e/control-harness.js';
import { cleanEnv, spawnIsthmus, type IsthmusProcess } from '../support/isthmus-process.js';

let control: RunningControl | undefined;
let dir: string | undefined;
let server: ChildProcess | undefined;
const agents: IsthmusProcess[] = [];
const clients: grpc.Client[] = [];
let port = 0;

const raw = (b: Buffer): Buffer => b;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function config(p: number): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: ${p}, name: grpc, protocol: GRPC}
  endpoints:
  - {address: 127.0.0.1, ports: {grpc: ${p}}, serviceAccount: echo}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo.default.svc.cluster.local
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec:
  mtls: {mode: STRICT}
`;
}

/** `isthmus agent` for `sa` writing its files and gRPC bootstrap under dir/sa; returns the bootstrap path. */
async function agent(c: RunningControl, sa: string, extra: string[] = []): Promise<string> {
  const out = join(dir!, sa);
  const bootstrap = join(dir!, `${sa}-bootstrap.json`);
  agents.push(await spawnIsthmus(['agent', '--out', out, '--control', `127.0.0.1:${c.xdsPort}`, '--token-file', tokenFile(c, sa),
    '--grpc-bootstrap', bootstrap, '--log-format', 'json', ...extra], { cwd: dir!, readyMsg: 'agent ready', readyTimeoutMs: 20_000 }));
  return bootstrap;
}

function call(client: grpc.Client, deadlineMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest('/isthmus.test.Echo/Who', raw, raw, Buffer.from('hi'), { deadline: Date.now() + deadlineMs }, (err, reply) => {
      if (err) reject(err);
      else resolve(reply!.toString());
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-proxyless-mtls-'));
  port = await freePort();
  control = await startControl((configDir) => writeFileSync(join(configDir, 'echo.yaml'), config(port)), undefined, ['--push-debounce-quiet', '20ms']);
  const serverBootstrap = await agent(control, 'echo', ['--app-port', String(port), '--address', '127.0.0.1']);
  const clientBootstrap = await agent(control, 'caller');
  server = spawn(process.execPath, [join(ROOT, 'test', 'support', 'grpc-xds-server.mjs'), String(port)], {
    cwd: ROOT, env: { ...cleanEnv(), GRPC_XDS_BOOTSTRAP: serverBootstrap }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`xds server not ready: ${out}`)), 20_000);
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"server ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    server!.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    server!.on('exit', (code) => reject(new Error(`xds server exited ${code}: ${out}`)));
  });
  // This process is the client: grpc-js-xds reads GRPC_XDS_BOOTSTRAP on its first xds: channel.
  process.env.GRPC_XDS_BOOTSTRAP = clientBootstrap;
  const xds = (await import('@grpc/grpc-js-xds')) as { register(): void };
  xds.register();
}, 60_000);

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  if (server !== undefined && server.exitCode === null) {
    server.kill('SIGKILL');
  }
  await Promise.all(agents.splice(0).map((a) => a.stop('SIGTERM', 5000)));
  if (control !== undefined) {
    await control.stop();
    control.remove();
  }
  delete process.env.GRPC_XDS_BOOTSTRAP;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('proxyless gRPC with mTLS', () => {
  it('the agent writes a bootstrap naming the file_watcher provider over its certificate files', () => {
    const bootstrap = JSON.parse(readFileSync(join(dir!, 'caller-bootstrap.json'), 'utf8')) as {
      certificate_providers: { default: { plugin_name: string; config: Record<string, string> } };
      node: { metadata: Record<string, string> };
      server_listener_resource_name_template: string;
    };
    expect(bootstrap.certificate_providers.default.plugin_name).toBe('file_watcher');
    expect(bootstrap.certificate_providers.default.config).toMatchObject({
      certificate_file: join(dir!, 'caller', 'cert-chain.pem'),
      private_key_file: join(dir!, 'caller', 'key.pem'),
      ca_certificate_file: join(dir!, 'caller', 'root-cert.pem'),
    });
    expect(bootstrap.node.metadata).toMatchObject({ GENERATOR: 'grpc', NAMESPACE: 'default', SERVICE_ACCOUNT: 'caller' });
    expect(bootstrap.server_listener_resource_name_template).toBe('xds.istio.io/grpc/lds/inbound/%s');
  });

  it('an XdsChannelCredentials client calls an XdsServerCredentials server over mTLS, configured by the control plane', async () => {
    const { XdsChannelCredentials } = (await import('@grpc/grpc-js-xds')) as unknown as { XdsChannelCredentials: new (fallback: grpc.ChannelCredentials) => grpc.ChannelCredentials };
    const client = new grpc.Client(`xds:///echo.default.svc.cluster.local:${port}`, new XdsChannelCredentials(grpc.credentials.createInsecure()));
    clients.push(client);
    let reply = '';
    await waitFor('an mTLS call through xDS', async () => {
      reply = await call(client).catch((e: Error) => `error: ${e.message}`);
      return !reply.startsWith('error');
    }, 30_000);
    // The server saw the caller's SPIFFE ID in its client certificate: the call was mTLS both ways.
    expect(reply).toBe('URI:spiffe://cluster.local/ns/default/sa/caller');
  }, 60_000);

  it('refuses a caller without a mesh certificate (plaintext, or TLS with no client certificate)', async () => {
    const plain = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    clients.push(plain);
    await expect(call(plain)).rejects.toThrow();
    const root = readFileSync(join(dir!, 'caller', 'root-cert.pem'));
    const noCert = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(root, null, null, { checkServerIdentity: () => undefined }));
    clients.push(noCert);
    await expect(call(noCert)).rejects.toThrow();
    // The same TLS client with the caller's certificate is served: the refusal was for the missing certificate.
    const withCert = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(root, readFileSync(join(dir!, 'caller', 'key.pem')),
      readFileSync(join(dir!, 'caller', 'cert-chain.pem')), { checkServerIdentity: () => undefined }));
    clients.push(withCert);
    expect(await call(withCert)).toBe('URI:spiffe://cluster.local/ns/default/sa/caller');
  }, 30_000);
});
