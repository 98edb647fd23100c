// TLS contexts that name SDS secrets from a static bootstrap: Envoy's
// static_resources.secrets fill them in; a name nothing provides is refused
// at load, naming it (and the agent identity that would provide default/ROOTCA).
import { spawnSync } from 'node:child_process';
import * as https from 'node:https';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, bootstrapYaml, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { cleanEnv } from '../support/isthmus-process.js';
import { chainsListener, staticCluster } from '../support/tls-bootstrap.js';
import { TestCa } from '../support/tls-certs.js';

let proxy: RunningProxy | null = null;
let upstream: Upstream | null = null;
const temps: string[] = [];

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
  await upstream?.close();
  upstream = null;
  for (const t of temps.splice(0)) rmSync(t, { recursive: true, force: true });
});

function sdsTls(certName: string): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: { tls_certificate_sds_secret_configs: [{ name: certName, sds_config: { ads: {} } }] },
    },
  };
}

function bootstrap(upstreamPort: number, certName: string, secrets: unknown[]): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [chainsListener('tls', [{ transportSocket: sdsTls(certName) }], {
        virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }],
      }, false)],
      clusters: [staticCluster('app', upstreamPort)],
      secrets,
    },
  };
}

describe('SDS secrets in a static bootstrap', { timeout: 60_000 }, () => {
  it('serves the certificate of the static_resources.secrets entry a listener names', async () => {
    const ca = new TestCa();
    temps.push(ca.dir);
    const leaf = ca.leaf({ cn: 'server', dns: ['server.test'] });
    upstream = await startUpstream();
    proxy = await startProxy({
      bootstrap: bootstrap(upstream.port, 'server_cert', [
        { name: 'server_cert', tls_certificate: { certificate_chain: { filename: leaf.certPath }, private_key: { filename: leaf.keyPath } } },
      ]),
    });
    const status = await new Promise<number>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: proxy!.port, ca: ca.cert, servername: 'server.test', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    expect(status).toBe(200);
  });

  it('refuses a config naming a secret that nothing provides, and default without --token-file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-sds-'));
    temps.push(dir);
    const run = (certName: string) => {
      writeFileSync(join(dir, 'b.yaml'), bootstrapYaml(bootstrap(1, certName, [])));
      return spawnSync(process.execPath, [CLI, 'proxy', '--bootstrap', join(dir, 'b.yaml'), '--admin-port', '0', '--data-dir', join(dir, 'data')],
        { encoding: 'utf8', env: cleanEnv(), timeout: 20_000 });
    };
    const unknown = run('nowhere');
    expect(unknown.status).toBe(1);
    expect(unknown.stdout + unknown.stderr).toContain('TLS contexts name SDS secrets "nowhere", which static_resources.secrets does not define');
    const noIdentity = run('default');
    expect(noIdentity.status).toBe(1);
    expect(noIdentity.stdout + noIdentity.stderr).toContain('TLS contexts name SDS secrets default, which only the proxy\'s workload identity provides: start it with --token-file');
  });
});
