// AuthorizationPolicy end to end (issue 14 item 7), real processes: a control
// plane, sidecars with bootstrap tokens talking mTLS, and the app behind the
// server sidecar. ALLOW by mTLS principal (productpage passes, ratings gets
// 403 `RBAC: access denied`), DENY wins over ALLOW, methods / paths with `*` /
// ports / a `when` on a header / namespaces / ipBlocks, a dry-run policy
// (passes, the shadow counter grows), a bad policy refused with file, line and
// field while the old one stays enforced, and requestPrincipals refused.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isthmus, startControl, startMeshSidecar, type RunningControl } from '../control/e2e/control-harness.js';
import { admin, outboundPort, request, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms'];

let control: RunningControl;
let app: Upstream;
let server: RunningProxy;
let productpage: RunningProxy;
let ratings: RunningProxy;
const proxies: RunningProxy[] = [];

async function meshSidecar(service: string, appPort?: number): Promise<RunningProxy> {
  const p = await startMeshSidecar(control, { service, ...(appPort !== undefined ? { appPort } : {}) });
  proxies.push(p);
  return p;
}

function policyFile(text: string): void {
  writeFileSync(join(control.configDir, 'authz.yaml'), text);
}

/** A request from a client sidecar to reviews through the mesh (mTLS between the sidecars). */
async function call(from: RunningProxy, path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  const r = await request(outboundPort(from), path, { method: o.method ?? 'GET', headers: { host: 'reviews:9080', ...(o.headers ?? {}) }, timeoutMs: 5000 });
  return { status: r.status, body: r.body };
}

/** Waits until a probe request gets `status` (a new policy version reached the sidecar). */
async function until(from: RunningProxy, path: string, status: number, o: { method?: string; headers?: Record<string, string> } = {}): Promise<void> {
  await waitFor(`${path} answers ${status}`, async () => (await call(from, path, o)).status === status, 20_000);
}

const ALLOW_PRODUCTPAGE = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-viewers, namespace: default}
spec:
  action: ALLOW
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/default/sa/productpage"]}
    to:
    - operation: {methods: ["GET", "HEAD"], paths: ["/hello*", "*/info"]}
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: deny-flagged, namespace: istio-system}
spec:
  action: DENY
  rules:
  - when:
    - key: request.headers[x-deny]
      values: ["yes", "sure*"]
`;

beforeAll(async () => {
  control = await startControl((dir) => writeFileSync(join(dir, 'authz.yaml'), ALLOW_PRODUCTPAGE), undefined, CONTROL_ARGS);
  app = await startUpstream();
  server = await meshSidecar('reviews', app.port);
  productpage = await meshSidecar('productpage');
  ratings = await meshSidecar('ratings');
  await until(productpage, '/hello', 200);
}, 90_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await app?.close();
  await control?.stop();
  control?.remove();
});

describe('AuthorizationPolicy', () => {
  it('ALLOW by mTLS principal, methods and paths with *: the listed caller passes, others get 403 RBAC: access denied', async () => {
    expect((await call(productpage, '/hello/world')).status).toBe(200);
    expect((await call(productpage, '/api/info')).status).toBe(200);
    const wrongPath = await call(productpage, '/admin');
    expect(wrongPath).toEqual({ status: 403, body: 'RBAC: access denied' });
    expect((await call(productpage, '/hello', { method: 'DELETE' })).status).toBe(403);
    const other = await call(ratings, '/hello');
    expect(other).toEqual({ status: 403, body: 'RBAC: access denied' });
    // Plaintext straight to the inbound port has no principal at all.
    expect((await request(server.ports.get('inbound')!, '/hello', { headers: { host: 'reviews' } })).status).toBe(403);
    expect(app.seen.some((s) => s.url === '/admin')).toBe(false);
  }, 30_000);

  it('DENY (mesh-wide, root namespace) wins over ALLOW; a when on a header with values and a prefix *', async () => {
    expect((await call(productpage, '/hello', { headers: { 'x-deny': 'yes' } })).status).toBe(403);
    expect((await call(productpage, '/hello', { headers: { 'x-deny': 'surely' } })).status).toBe(403);
    expect((await call(productpage, '/hello', { headers: { 'x-deny': 'no' } })).status).toBe(200);
  }, 30_000);

  it('a bad policy is refused with file, line and field, and the old policy stays enforced', async () => {
    policyFile(`${ALLOW_PRODUCTPAGE}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jwt, namespace: default}
spec:
  rules:
  - from:
    - source:
        requestPrincipals: ["issuer/subject"]
`);
    const warning = await waitFor('the refusal in the log', () => control.lines.find((l) => l.msg === 'config folder read with problems' && JSON.stringify(l.problems).includes('requestPrincipals')), 10_000);
    const text = JSON.stringify(warning.problems);
    expect(text).toMatch(/authz\.yaml:\d+/);
    expect(text).toContain('spec.rules[0].from[0].source.requestPrincipals needs JWT validation (RequestAuthentication)');
    expect((await call(productpage, '/hello')).status).toBe(200);
    expect((await call(ratings, '/hello')).status).toBe(403);
  }, 30_000);

  it('namespaces, ipBlocks and ports; notPaths', async () => {
    policyFile(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: by-namespace, namespace: default}
spec:
  rules:
  - from:
    - source: {namespaces: ["default"], ipBlocks: ["127.0.0.0/8"], notIpBlocks: ["127.0.0.2/32"]}
    to:
    - operation: {ports: ["${app.port}"], notPaths: ["/secret*", "/wrong-port"]}
  - from:
    - source: {namespaces: ["other"]}
  - to:
    - operation: {ports: ["1"], paths: ["/wrong-port"]}
`);
    await until(ratings, '/anything', 200);
    expect((await call(productpage, '/anything')).status).toBe(200);
    expect((await call(ratings, '/secret/x')).status).toBe(403);
    expect((await call(ratings, '/wrong-port')).status).toBe(403);
  }, 30_000);

  it('an ALLOW policy with no rules (spec {}) denies everything; rules: [{}] allows everything', async () => {
    policyFile(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all, namespace: default}
spec: {}
`);
    await until(productpage, '/hello', 403);
    policyFile(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-all, namespace: default}
spec:
  rules: [{}]
`);
    await until(ratings, '/anything', 200);
  }, 30_000);

  it('a dry-run policy (istio.io/dry-run) is never enforced; its shadow counter grows', async () => {
    policyFile(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: would-deny
  namespace: default
  annotations: {istio.io/dry-run: "true"}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/dry*"]}}]}]
`);
    const shadow = async (): Promise<number> => {
      const text = (await admin(server, '/stats')).body;
      return [...text.matchAll(/^http\.[^:]+\.rbac\.shadow_denied: (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    await waitFor('the dry-run policy reaches the sidecar', async () => (await call(ratings, '/dry-run')).status === 200 && (await shadow()) > 0, 20_000);
    const before = await shadow();
    for (let i = 0; i < 3; i++) expect((await call(ratings, '/dry-run')).status).toBe(200);
    expect(await shadow()).toBe(before + 3);
    expect((await call(ratings, '/other')).status).toBe(200);
    expect(await shadow()).toBe(before + 3);
  }, 30_000);
});

describe('isthmus proxy-config authz', () => {
  it('lists per inbound chain the action, the policy name.namespace, its rule count and dry-run', async () => {
    policyFile(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: viewers, namespace: default}
spec:
  rules:
  - from: [{source: {principals: ["cluster.local/ns/default/sa/productpage"]}}]
  - to: [{operation: {paths: ["/public*"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-admin, namespace: istio-system}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/admin*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: trial, namespace: default, annotations: {istio.io/dry-run: "true"}}
spec:
  action: DENY
  rules: [{to: [{operation: {methods: ["DELETE"]}}]}]
`);
    await until(ratings, '/admin', 403);
    await until(ratings, '/public/x', 200);
    const control_ = `http://127.0.0.1:${control.adminPort}`;
    const r = isthmus(['proxy-config', 'authz', 'reviews', '--control', control_], control.dir);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(lines[0]).toEqual(['LISTENER/CHAIN', 'ACTION', 'AuthorizationPolicy', 'RULES', 'DRY-RUN']);
    const mtls = lines.filter((l) => l[0] === 'inbound/inbound-mtls').map((l) => l.slice(1).join(' '));
    expect(mtls).toEqual(['DENY no-admin.istio-system 1', 'DENY trial.default 1 yes', 'ALLOW viewers.default 2']);
    const json = isthmus(['proxy-config', 'authz', 'reviews', '--control', control_, '-o', 'json'], control.dir);
    expect(JSON.parse(json.stdout)).toContainEqual({ chain: 'inbound/inbound-mtls', action: 'ALLOW', policy: 'viewers.default', rules: 2, dryRun: false });
  }, 30_000);
});
