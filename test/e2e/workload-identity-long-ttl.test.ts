// A workload certificate long enough that renewing at half its life is more
// than a Node timer holds (2^31-1 ms, ~24.8 days): 2000 h is under the CA's
// default cap (2160 h). Node fires such a timer after 1 ms, so the proxy
// would ask the CA for a new certificate in a loop.
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
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

describe('workload identity with a long certificate', () => {
  it('a 2000 h certificate is requested once, not renewed in a loop', async () => {
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
        '--workload-cert-ttl', '2000h'],
      readyTimeoutMs: 30_000,
    });
    await new Promise((res) => setTimeout(res, 2000));
    const issued = control.lines.filter((l) => l.msg === 'workload certificate issued').length;
    expect(issued).toBeGreaterThanOrEqual(1);
    expect(issued).toBeLessThanOrEqual(2);
    // The control plane is named by IP: no TLS server name may be set to it (Node's DEP0123 warning on stderr).
    expect(proxy.stderr()).not.toMatch(/DEP0123|ServerName to an IP/);
  }, 60_000);
});
