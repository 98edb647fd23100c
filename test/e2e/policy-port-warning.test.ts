// --policy-port is plaintext: a sidecar that reaches xDS over TLS (--control-ca)
// says at start that its Mixer Checks will not be, so an operator is not
// surprised that request attributes leave TLS behind.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { isthmus, startControl, type RunningControl, securePort } from '../control/e2e/control-harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';

let control: RunningControl | null = null;
let proxy: RunningProxy | null = null;
let upstream: Upstream | null = null;

afterEach(async () => {
  await proxy?.stop();
  proxy = null;
  await control?.stop();
  control?.remove();
  control = null;
  await upstream?.close();
  upstream = null;
});

describe('--policy-port with --control-ca', () => {
  it('warns that Mixer Checks go in plaintext while xDS uses TLS', async () => {
    control = await startControl();
    upstream = await startUpstream();
    const r = isthmus(['token', 'create', '--namespace', 'default', '--service-account', 'reviews', '--control', `http://127.0.0.1:${control.adminPort}`,
      '--data-dir', control.dataDir], control.dir);
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(join(control.dir, 'token'), r.stdout);
    proxy = await startProxy({
      bootstrap: { static_resources: { clusters: [staticCluster('app', upstream.port)] } },
      control: `127.0.0.1:${securePort(control)}`,
      args: ['--service', 'reviews', '--token-file', join(control.dir, 'token'), '--control-ca', join(control.dataDir, 'root-cert.pem'),
        '--policy-port', '9'],
      readyTimeoutMs: 30_000,
    });
    const p = proxy;
    const line = await waitFor('the plaintext warning', () => p.lines.find((l) => typeof l.msg === 'string' && l.msg.includes('--policy-port sends Mixer Checks in plaintext')));
    expect(line).toMatchObject({ level: 40, policyPort: 9 });
  }, 60_000);
});
