// Feature modules load when a config first uses them (workers/feature-modules.ts): a proxy whose config has no
// access-policy filter does not load RBAC/ext_authz/Mixer code in any data plane; when a reload adds an RBAC filter,
// every worker thread loads it, applies the version, and enforces it, while traffic keeps flowing: no request fails.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, bootstrapYaml, configDump, replaceFile, request, startProxy, startUpstream, tempDir, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { withHttpFilters } from './http-filter-config.js';

const RBAC = 'envoy.filters.http.rbac';
const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

const dir = tempDir('lazy-features');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;
let proxy: RunningProxy | undefined;

function config(withRbac: boolean): string {
  const b = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] }, [{ name: 'backend', ports: [upstream.port] }]);
  const deny = { '@type': RBAC_TYPE, rules: { action: 'DENY', policies: { 'no-admin': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } } };
  return bootstrapYaml(withHttpFilters(b, withRbac ? [{ name: RBAC, typed_config: deny }, ROUTER] : [ROUTER]));
}

beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await upstream?.close();
  dir.remove();
});

describe('feature modules load on first use', () => {
  it('an RBAC filter added by a reload under traffic is loaded and enforced by both workers, and no request fails', async () => {
    writeFileSync(bootstrapPath, config(false));
    const p = (proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data'), workers: 2 }));
    const port = p.ports.get('outbound')!;
    expect((await request(port, '/admin/panel')).status).toBe(200); // no policy yet

    // Traffic on 4 connections' worth of sequential clients, bounded in count, through the reload.
    let stop = false;
    const failures: string[] = [];
    let served = 0;
    const client = async (): Promise<void> => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const res = await request(port, `/page/${i}`).catch((err: Error) => ({ status: 0, body: err.message }));
        if (res.status !== 200) failures.push(`${res.status} ${res.body}`);
        else served++;
      }
    };
    const clients = [client(), client(), client(), client()];
    await waitFor('traffic to flow', () => served > 20);
    replaceFile(bootstrapPath, config(true));
    await waitFor('both workers to apply the RBAC version', async () => (await configDump(p)).workers.every((w) => w.appliedVersion === 2 && w.state === 'running'), 15_000);
    // Every worker enforces it (SO_REUSEPORT spreads new connections over both).
    for (let i = 0; i < 20; i++) expect((await request(port, `/admin/${i}`)).status).toBe(403);
    const servedAtReload = served;
    await waitFor('traffic to keep flowing after the reload', () => served > servedAtReload + 20);
    stop = true;
    await Promise.all(clients);
    expect(failures).toEqual([]);
  }, 60_000);
});
