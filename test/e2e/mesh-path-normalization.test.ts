// The control plane turns path normalization on as Istio's default
// (meshConfig.pathNormalization DEFAULT = BASE: normalize_path), so a
// VirtualService rule that denies `/admin` holds against dot segments and
// percent-encoding, with a real control plane, sidecars and app.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { outboundPort, replyName, request, startSidecar, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

const DENY_ADMIN = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: deny-admin
    match: [{uri: {prefix: /admin}}]
    directResponse: {status: 403, body: {string: denied}}
  - name: rest
    route: [{destination: {host: reviews}}]
`;

interface Mesh {
  readonly control: RunningControl;
  readonly app: Upstream;
  readonly proxies: RunningProxy[];
  /** The productpage sidecar the requests go through. */
  readonly client: RunningProxy;
}

const meshes: Mesh[] = [];

/** A control plane (with `args`), the reviews app behind its sidecar, and a client sidecar. */
async function startMesh(args: readonly string[] = []): Promise<Mesh> {
  const control = await startControl((dir) => writeFileSync(join(dir, 'reviews.yaml'), DENY_ADMIN), undefined, [
    '--registration-grace', '500ms', '--push-debounce-quiet', '20ms', ...args,
  ]);
  const app = await startUpstream(replyName('reviews'));
  const mesh: Mesh = { control, app, proxies: [], client: undefined as unknown as RunningProxy };
  meshes.push(mesh);
  mesh.proxies.push(await startSidecar(control.xdsPort, { service: 'reviews', version: 'v1', appPort: app.port }));
  const client = await startSidecar(control.xdsPort, { service: 'productpage' });
  mesh.proxies.push(client);
  (mesh as { client: RunningProxy }).client = client;
  await waitFor('the route to reviews', async () => (await get(mesh, '/ok')).body === 'reviews', 15_000);
  return mesh;
}

afterAll(async () => {
  for (const m of meshes) {
    await Promise.all(m.proxies.map((p) => p.stop('SIGTERM', 5000)));
    await m.app.close();
    await m.control.stop();
    m.control.remove();
  }
});

function get(mesh: Mesh, path: string) {
  return request(outboundPort(mesh.client), path, { headers: { host: 'reviews:9080' }, timeoutMs: 5000 });
}

describe("Istio's default path normalization from the control plane", () => {
  it('denies /admin however it is spelled, and forwards the normalized path', async () => {
    const mesh = await startMesh();
    expect((await get(mesh, '/admin')).status).toBe(403);
    for (const path of ['/x/../admin', '/./admin', '/%2e%2e/admin', '/%61dmin', '/x\\..\\admin']) {
      const res = await get(mesh, path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 403, body: 'denied' });
    }
    const before = mesh.app.seen.length;
    expect((await get(mesh, '/a/./b/../c')).body).toBe('reviews');
    // Istio's default does not merge slashes.
    expect((await get(mesh, '//a//c')).body).toBe('reviews');
    expect(mesh.app.seen.slice(before).map((s) => s.url)).toEqual(['/a/c', '//a//c']);
  }, 30_000);

  it('--path-normalization MERGE_SLASHES also merges slashes, so //admin is denied too', async () => {
    const mesh = await startMesh(['--path-normalization', 'MERGE_SLASHES']);
    for (const path of ['//admin', '/x/..//admin', '///%2e%2e//admin']) {
      const res = await get(mesh, path);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    const before = mesh.app.seen.length;
    expect((await get(mesh, '//a//c')).body).toBe('reviews');
    expect(mesh.app.seen.slice(before).map((s) => s.url)).toEqual(['/a/c']);
  }, 30_000);
});
