// AuthorizationPolicy fields the other end-to-end files leave out (audit14
// GAP 9), real processes: a control plane, sidecars with bootstrap tokens
// talking mTLS (productpage and ratings in namespace default, intruder in
// namespace other), the app behind reviews' sidecar, and plaintext clients
// bound to 127.0.0.x straight to reviews' inbound port (PERMISSIVE: no
// identity, but a peer address of the test's choosing). notPrincipals,
// notNamespaces, remoteIpBlocks / notRemoteIpBlocks / notIpBlocks, hosts /
// notHosts, notMethods, notPorts, `when` on source.principal, source.namespace,
// source.ip, remote.ip and destination.port, and CUSTOM evaluated before DENY.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isthmus, securePort, startControl, startMeshSidecar, type RunningControl } from '../control/e2e/control-harness.js';
import { outboundPort, request, startSidecar, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { betaDenier, requestFrom } from '../support/policy-mesh.js';

// A slow Mixer Check on a loaded machine must not fail open past the denier rule.
const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms', '--policy-check-timeout', '5s'];
const DENIED = '403 RBAC: access denied';

/** A Mixer denier on x-user: beta, for the CUSTOM policy's ext_authz answers. */
const DENIER = betaDenier('request.headers["x-user"] == "beta" && request.path.startsWith("/guarded")');

let control: RunningControl;
let app: Upstream;
let server: RunningProxy;
let productpage: RunningProxy;
let ratings: RunningProxy;
let intruder: RunningProxy;
const proxies: RunningProxy[] = [];

function policy(text: string): void {
  writeFileSync(join(control.configDir, 'authz.yaml'), text);
}

/** "200" for a pass (the app's answer), else "status body". */
const outcome = (r: { status: number; body: string }): string => (r.status === 200 ? '200' : `${r.status} ${r.body}`.trim());

/** Through a client sidecar (mTLS to reviews): "200" or "status body". */
async function via(from: RunningProxy, path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<string> {
  const r = await request(outboundPort(from), path, { method: o.method ?? 'GET', headers: { host: 'reviews.default:9080', ...(o.headers ?? {}) }, timeoutMs: 8000 });
  return outcome(r);
}

/** Plaintext straight to reviews' inbound port from a loopback address, with a Host header: "status body". */
async function direct(from: string, path: string, host = 'reviews', method = 'GET'): Promise<string> {
  if (method !== 'GET') {
    const r = await request(server.ports.get('inbound')!, path, { method, headers: { host } });
    return outcome(r);
  }
  return outcome(await requestFrom(server.ports.get('inbound')!, path, { host }, from));
}

/** Waits for an answer only the new policy gives (the one before gave another). */
async function until(probe: () => Promise<string>, want: string): Promise<void> {
  await waitFor(`the new policy in force (${want})`, async () => (await probe()) === want, 20_000);
}

beforeAll(async () => {
  control = await startControl((dir) => writeFileSync(join(dir, 'policy.yaml'), DENIER), undefined, CONTROL_ARGS);
  app = await startUpstream();
  const meshSidecar = async (service: string, appPort?: number): Promise<RunningProxy> => {
    const p = await startMeshSidecar(control, { service, ...(appPort !== undefined ? { appPort } : {}) });
    proxies.push(p);
    return p;
  };
  server = await meshSidecar('reviews', app.port);
  productpage = await meshSidecar('productpage');
  ratings = await meshSidecar('ratings');
  // A workload of namespace other: its own token.
  const token = isthmus(['token', 'create', '--namespace', 'other', '--service-account', 'intruder', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
  expect(token.code, token.stderr).toBe(0);
  writeFileSync(join(control.dir, 'intruder.token'), token.stdout);
  intruder = await startSidecar(securePort(control), {
    service: 'intruder', namespace: 'other', args: ['--token-file', join(control.dir, 'intruder.token'), '--control-ca', join(control.dataDir, 'root-cert.pem')],
  });
  proxies.push(intruder);
  for (const p of [productpage, ratings, intruder]) await waitFor('reviews reachable', async () => (await via(p, '/ready')) === '200', 30_000);
}, 120_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await app?.close();
  await control?.stop();
  control?.remove();
});

describe('AuthorizationPolicy: the not* fields, hosts, ports and when keys', () => {
  it('notPrincipals and notNamespaces', async () => {
    policy(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: not-sources, namespace: default}
spec:
  action: ALLOW
  rules:
  - from: [{source: {notPrincipals: ["cluster.local/ns/default/sa/ratings"], namespaces: ["default", "other"]}}]
    to: [{operation: {paths: ["/np*"]}}]
  - from: [{source: {principals: ["*"], notNamespaces: ["other"]}}]
    to: [{operation: {paths: ["/nn*"]}}]
`);
    await until(() => via(ratings, '/np'), DENIED);
    expect(await via(ratings, '/np')).toBe(DENIED);
    expect(await via(productpage, '/np')).toBe('200');
    expect(await via(intruder, '/np')).toBe('200');
    expect(await via(productpage, '/nn')).toBe('200');
    expect(await via(ratings, '/nn')).toBe('200');
    expect(await via(intruder, '/nn')).toBe(DENIED);
    // principals ["*"]: plaintext has no identity at all.
    expect(await direct('127.0.0.2', '/nn')).toBe(DENIED);
  }, 60_000);

  it('remoteIpBlocks, notRemoteIpBlocks and notIpBlocks, by the peer address', async () => {
    policy(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: by-address, namespace: default}
spec:
  rules:
  - from: [{source: {remoteIpBlocks: ["127.0.0.0/29"], notRemoteIpBlocks: ["127.0.0.3/32"]}}]
    to: [{operation: {paths: ["/remote*"]}}]
  - from: [{source: {ipBlocks: ["127.0.0.0/24"], notIpBlocks: ["127.0.0.5/32"]}}]
    to: [{operation: {paths: ["/ip*"]}}]
`);
    await until(() => direct('127.0.0.2', '/remote'), '200');
    expect(await direct('127.0.0.2', '/remote')).toBe('200');
    expect(await direct('127.0.0.6', '/remote')).toBe('200');
    expect(await direct('127.0.0.3', '/remote')).toBe(DENIED);
    expect(await direct('127.0.0.9', '/remote')).toBe(DENIED);
    expect(await direct('127.0.0.4', '/ip')).toBe('200');
    expect(await direct('127.0.0.5', '/ip')).toBe(DENIED);
  }, 60_000);

  it('hosts and notHosts (case-insensitive, * prefix), notMethods, ports and notPorts', async () => {
    policy(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: by-operation, namespace: default}
spec:
  rules:
  - to: [{operation: {hosts: ["*.example", "Reviews.Local"], notHosts: ["bad.example"], notMethods: ["DELETE"], notPorts: ["1"], paths: ["/h*"]}}]
  - to: [{operation: {paths: ["/p*"], notPorts: ["${app.port}"]}}]
  - to: [{operation: {paths: ["/q*"], ports: ["${app.port}"]}}]
`);
    await until(() => direct('127.0.0.2', '/h', 'good.example'), '200');
    expect(await direct('127.0.0.2', '/h', 'good.example')).toBe('200');
    expect(await direct('127.0.0.2', '/h', 'reviews.local')).toBe('200');
    expect(await direct('127.0.0.2', '/h', 'bad.example')).toBe(DENIED);
    expect(await direct('127.0.0.2', '/h', 'elsewhere.org')).toBe(DENIED);
    expect(await direct('127.0.0.2', '/h', 'good.example', 'POST')).toBe('200');
    expect(await direct('127.0.0.2', '/h', 'good.example', 'DELETE')).toBe(DENIED);
    expect(await direct('127.0.0.2', '/p', 'good.example')).toBe(DENIED);
    expect(await direct('127.0.0.2', '/q', 'good.example')).toBe('200');
  }, 60_000);

  it('when on source.principal, source.namespace, source.ip, remote.ip and destination.port', async () => {
    policy(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: by-when, namespace: default}
spec:
  action: DENY
  rules:
  - to: [{operation: {paths: ["/principal*"]}}]
    when: [{key: source.principal, values: ["cluster.local/ns/default/sa/ratings"]}]
  - to: [{operation: {paths: ["/namespace*"]}}]
    when: [{key: source.namespace, notValues: ["default"]}]
  - to: [{operation: {paths: ["/source-ip*"]}}]
    when: [{key: source.ip, values: ["127.0.0.6/32"]}]
  - to: [{operation: {paths: ["/remote-ip*"]}}]
    when: [{key: remote.ip, values: ["127.0.0.7"]}]
  - to: [{operation: {paths: ["/port*"]}}]
    when: [{key: destination.port, values: ["${app.port}"]}]
  - to: [{operation: {paths: ["/other-port*"]}}]
    when: [{key: destination.port, values: ["1"]}]
`);
    await until(() => via(productpage, '/principal'), '200');
    expect(await via(ratings, '/principal')).toBe(DENIED);
    expect(await via(productpage, '/principal')).toBe('200');
    expect(await via(intruder, '/namespace')).toBe(DENIED);
    expect(await via(productpage, '/namespace')).toBe('200');
    expect(await direct('127.0.0.6', '/source-ip')).toBe(DENIED);
    expect(await direct('127.0.0.2', '/source-ip')).toBe('200');
    expect(await direct('127.0.0.7', '/remote-ip')).toBe(DENIED);
    expect(await direct('127.0.0.2', '/remote-ip')).toBe('200');
    expect(await via(productpage, '/port')).toBe(DENIED);
    expect(await via(productpage, '/other-port')).toBe('200');
  }, 60_000);

  it('CUSTOM is evaluated before DENY: ext_authz\'s answer, not RBAC\'s, for a request both refuse', async () => {
    policy(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-guard, namespace: default}
spec:
  action: CUSTOM
  provider: {name: isthmus}
  rules: [{to: [{operation: {paths: ["/guarded*"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-guarded-deny, namespace: default}
spec:
  action: DENY
  rules: [{to: [{operation: {paths: ["/guarded/deny*"]}}]}]
`);
    await until(() => via(productpage, '/guarded/deny', { headers: { 'x-user': 'alpha' } }), DENIED);
    // Both CUSTOM (the Mixer rule through ext_authz) and DENY refuse it: CUSTOM answers first.
    expect(await via(productpage, '/guarded/deny', { headers: { 'x-user': 'beta' } })).toBe('403 beta users are not allowed');
    // CUSTOM lets it through: DENY refuses.
    expect(await via(productpage, '/guarded/deny', { headers: { 'x-user': 'alpha' } })).toBe(DENIED);
    expect(await via(productpage, '/guarded/ok', { headers: { 'x-user': 'alpha' } })).toBe('200');
    expect(await via(productpage, '/guarded/ok', { headers: { 'x-user': 'beta' } })).toBe('403 beta users are not allowed');
  }, 60_000);
});
