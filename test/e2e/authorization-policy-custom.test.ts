// AuthorizationPolicy action CUSTOM end to end (issue 14 item 7), real
// processes: a control plane with a Mixer denier rule on a header, sidecars
// with bootstrap tokens talking mTLS, the app behind the server sidecar. A
// CUSTOM policy with provider "isthmus" makes the sidecar ask the control
// plane's ext_authz service (Envoy's envoy.service.auth.v3.Authorization) for
// the requests its rules match: the denier's header is refused with the
// rule's message as body, other requests pass, requests outside the CUSTOM
// rules are not asked (only the Mixer filter sees them), and a CUSTOM denial
// wins over an ALLOW policy that matches the same request.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { betaDenier } from '../support/policy-mesh.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isthmus, startControl, startMeshSidecar, type RunningControl } from '../control/e2e/control-harness.js';
import { admin, metricSum, outboundPort, request, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms', '--policy-check-timeout', '5s'];

let control: RunningControl;
let app: Upstream;
let server: RunningProxy;
let productpage: RunningProxy;
const proxies: RunningProxy[] = [];

async function meshSidecar(service: string, appPort?: number): Promise<RunningProxy> {
  const p = await startMeshSidecar(control, { service, ...(appPort !== undefined ? { appPort } : {}) });
  proxies.push(p);
  return p;
}

async function call(from: RunningProxy, path: string, user: string): Promise<{ status: number; body: string }> {
  const r = await request(outboundPort(from), path, { headers: { host: 'reviews:9080', 'x-user': user }, timeoutMs: 8000 });
  return { status: r.status, body: r.body };
}

const DENIER = betaDenier('request.headers["x-user"] == "beta"');

/** One denier per attribute the two paths used to see differently: the peer's identity and the destination service. */
const IDENTITY_RULES = ([
  ['principal', 'source.principal == "cluster.local/ns/default/sa/productpage"'],
  ['namespace', 'source.namespace == "default"'],
  ['service', 'destination.service.name == "reviews" && destination.service.namespace == "default"'],
  ['labels', 'destination.labels["app"] == "reviews"'],
  ['stranger', 'source.principal == "cluster.local/ns/default/sa/stranger"'],
] as const).map(([user, match]) => `---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: deny-${user}, namespace: istio-system}
spec:
  compiledAdapter: denier
  params:
    status: {code: 7, message: denied on ${user}}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: deny-${user}, namespace: istio-system}
spec:
  match: request.headers["x-user"] == "${user}" && ${match}
  actions:
  - handler: deny-${user}
    instances: [nothing]
`).join('');

const CUSTOM = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-guard, namespace: default}
spec:
  action: CUSTOM
  provider: {name: isthmus}
  rules:
  - to:
    - operation: {paths: ["/guarded*"]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-productpage, namespace: default}
spec:
  action: ALLOW
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/default/sa/productpage"]}
`;

beforeAll(async () => {
  control = await startControl((dir) => {
    writeFileSync(join(dir, 'policy.yaml'), DENIER + IDENTITY_RULES);
    writeFileSync(join(dir, 'authz.yaml'), CUSTOM);
  }, undefined, CONTROL_ARGS);
  app = await startUpstream();
  server = await meshSidecar('reviews', app.port);
  productpage = await meshSidecar('productpage');
  await waitFor('the mesh routes productpage to reviews', async () => (await call(productpage, '/guarded/a', 'alpha')).status === 200, 30_000);
}, 90_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await app?.close();
  await control?.stop();
  control?.remove();
});

describe('AuthorizationPolicy CUSTOM with provider isthmus (the control plane ext_authz service)', () => {
  it('denies the matching request with the Mixer rule\'s answer through ext_authz, though an ALLOW policy matches it; passes others', async () => {
    const denied = await call(productpage, '/guarded/x', 'beta');
    // ext_authz's denied_response (403, the rule's message), not the RBAC or Mixer filter's answer.
    expect(denied).toEqual({ status: 403, body: 'beta users are not allowed\n' });
    expect(app.seen.some((s) => s.url === '/guarded/x')).toBe(false);
    expect((await call(productpage, '/guarded/y', 'alpha')).status).toBe(200);
    const stats = (await admin(server, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_http_ext_authz_denied')).toBeGreaterThanOrEqual(1);
    expect(metricSum(stats, 'envoy_http_ext_authz_ok')).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it('asks ext_authz only for the requests the CUSTOM rules match', async () => {
    const before = metricSum((await admin(server, '/stats/prometheus')).body, 'envoy_http_ext_authz_ok');
    expect((await call(productpage, '/open', 'alpha')).status).toBe(200);
    // The Mixer filter (not ext_authz) answers a request outside the CUSTOM rules, in its own words.
    expect(await call(productpage, '/open', 'beta')).toEqual({ status: 403, body: 'PERMISSION_DENIED:beta users are not allowed' });
    const stats = (await admin(server, '/stats/prometheus')).body;
    expect(metricSum(stats, 'envoy_http_ext_authz_ok')).toBe(before);
    expect(metricSum(stats, 'envoy_http_ext_authz_denied')).toBe(1);
  }, 30_000);

  it('gives the Mixer filter\'s decision for rules on source.principal, source.namespace and the destination service', async () => {
    for (const user of ['principal', 'namespace', 'service', 'labels']) {
      // /guarded: the CUSTOM policy's ext_authz answers (its body ends in a newline); /open: the Mixer filter does.
      expect(await call(productpage, '/guarded/id', user), user).toEqual({ status: 403, body: `denied on ${user}\n` });
      expect(await call(productpage, '/open', user), user).toEqual({ status: 403, body: `PERMISSION_DENIED:denied on ${user}` });
    }
    // Another principal: neither path denies.
    expect((await call(productpage, '/guarded/id', 'stranger')).status).toBe(200);
    expect((await call(productpage, '/open', 'stranger')).status).toBe(200);
  }, 30_000);
});
