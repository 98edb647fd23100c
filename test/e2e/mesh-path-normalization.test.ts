// The control plane turns path normalization on as Istio's default
// (meshConfig.pathNormalization DEFAULT = BASE: normalize_path), so a
// VirtualService rule that denies `/admin` holds against dot segments and
// percent-encoding, with a real control plane, sidecars and app.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

let control: RunningControl;
let app: Upstream;
let server: RunningProxy;
let client: RunningProxy;

beforeAll(async () => {
  control = await startControl((dir) => writeFileSync(join(dir, 'reviews.yaml'), DENY_ADMIN), undefined, [
    '--registration-grace', '500ms', '--push-debounce-quiet', '20ms',
  ]);
  app = await startUpstream(replyName('reviews'));
  server = await startSidecar(control.xdsPort, { service: 'reviews', version: 'v1', appPort: app.port });
  client = await startSidecar(control.xdsPort, { service: 'productpage' });
}, 30_000);

afterAll(async () => {
  await client?.stop('SIGTERM', 5000);
  await server?.stop('SIGTERM', 5000);
  await app?.close();
  await control?.stop();
  control?.remove();
});

function get(path: string) {
  return request(outboundPort(client), path, { headers: { host: 'reviews:9080' }, timeoutMs: 5000 });
}

describe("Istio's default path normalization from the control plane", () => {
  it('denies /admin however it is spelled, and forwards the normalized path', async () => {
    await waitFor('the route to reviews', async () => (await get('/ok')).body === 'reviews', 15_000);
    expect((await get('/admin')).status).toBe(403);
    for (const path of ['/x/../admin', '/./admin', '/%2e%2e/admin', '/%61dmin', '/x\\..\\admin']) {
      const res = await get(path);
      expect({ path, status: res.status, body: res.body }).toEqual({ path, status: 403, body: 'denied' });
    }
    const before = app.seen.length;
    expect((await get('/a/./b/../c')).body).toBe('reviews');
    expect(app.seen.slice(before).map((s) => s.url)).toEqual(['/a/c']);
  }, 30_000);
});
