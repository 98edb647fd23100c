// On the TLS xDS port a stream must carry the proxy's bootstrap token, and the
// namespace and service account its node metadata claims must be the token's:
// otherwise any peer reaching the port could register as an endpoint of any
// service, or as the source workload policy rules read. The plaintext port
// (loopback, Istio's 15010) serves as before.
import { credentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { decodeAny, deltaClient, sotwClient, type AdsTestClientOptions } from '../xds/ads-test-client.js';
import { isthmus, securePort, startControl, type RunningControl } from './control-harness.js';

let control: RunningControl;
let reviewsToken: string;
let ratingsToken: string;

beforeAll(async () => {
  control = await startControl();
  const r = isthmus(['token', 'create', '--namespace', 'bookinfo', '--service-account', 'reviews', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
  expect(r.code, r.stderr).toBe(0);
  reviewsToken = r.stdout.trim();
  const r2 = isthmus(['token', 'create', '--namespace', 'bookinfo', '--service-account', 'ratings', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
  expect(r2.code, r2.stderr).toBe(0);
  ratingsToken = r2.stdout.trim();
}, 30_000);

afterAll(async () => {
  await control?.stop();
  control?.remove();
});

const tls = (): AdsTestClientOptions => ({ credentials: credentials.createSsl(readFileSync(join(control.dataDir, 'root-cert.pem'))) });

function open(port: number, id: string, metadata: Record<string, string>, o: AdsTestClientOptions) {
  const client = sotwClient(port, o);
  const fields = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, { stringValue: v }]));
  client.send({ node: { id, cluster: 'test', metadata: { fields } }, type_url: TYPE_URL.CLUSTER, resource_names: [], version_info: '', response_nonce: '' });
  return client;
}

const reviews = { SERVICE: 'reviews', NAMESPACE: 'bookinfo', SERVICE_ACCOUNT: 'reviews', INSTANCE_IPS: '127.0.0.9', APP_PORT: '9080' };

/** The control plane's connected proxies (/debug/syncz): node id → registered as an endpoint. */
async function connected(): Promise<Map<string, boolean>> {
  const syncz = JSON.parse((await control.admin('/debug/syncz')).text) as { proxies: { node: string; registered: boolean }[] };
  return new Map(syncz.proxies.map((p) => [p.node, p.registered]));
}

describe('who may open an xDS stream on the TLS port', () => {
  it('refuses a stream without a token, and one whose namespace or service account is not its token\'s; serves the right one', async () => {
    const port = securePort(control);
    const none = open(port, 'no-token', reviews, tls());
    const noneStatus = await none.ended(10_000);
    expect(noneStatus.code).toBe(16); // UNAUTHENTICATED
    expect(noneStatus.details).toMatch(/bootstrap token/);

    // The server's own note of the port kind cannot be sent by a client.
    const claimsPlaintext = open(port, 'claims-plaintext', reviews, { ...tls(), metadata: { 'x-isthmus-transport': 'plaintext' } });
    expect((await claimsPlaintext.ended(10_000)).code).toBe(16);

    const forged = open(port, 'forged-token', reviews, { ...tls(), bearer: `${reviewsToken.slice(0, -4)}AAAA` });
    expect((await forged.ended(10_000)).code).toBe(16);

    const otherAccount = open(port, 'poses-as-ratings', { ...reviews, SERVICE: 'ratings', SERVICE_ACCOUNT: 'ratings' }, { ...tls(), bearer: reviewsToken });
    const accountStatus = await otherAccount.ended(10_000);
    expect(accountStatus.code).toBe(7); // PERMISSION_DENIED
    expect(accountStatus.details).toMatch(/SERVICE_ACCOUNT "ratings" is not bootstrap token .*'s service account "reviews"/);

    const otherNamespace = open(port, 'other-namespace', { ...reviews, NAMESPACE: 'default' }, { ...tls(), bearer: reviewsToken });
    const nsStatus = await otherNamespace.ended(10_000);
    expect(nsStatus.code).toBe(7);
    expect(nsStatus.details).toMatch(/NAMESPACE "default" is not bootstrap token .*'s namespace "bookinfo"/);

    const proven = open(port, 'reviews-1', reviews, { ...tls(), bearer: reviewsToken });
    const first = await proven.next();
    expect(first.type_url).toBe(TYPE_URL.CLUSTER);

    const proxies = await connected();
    expect(proxies.get('reviews-1')).toBe(true);
    for (const refused of ['no-token', 'claims-plaintext', 'forged-token', 'poses-as-ratings', 'other-namespace']) expect(proxies.has(refused)).toBe(false);
    expect(control.lines.filter((l) => l.msg === 'xDS stream refused')).toHaveLength(5);
    for (const c of [none, claimsPlaintext, forged, otherAccount, otherNamespace, proven]) c.close();
  }, 30_000);

  it('refuses a proven stream that names a node id another identity holds open; the same identity may open a second stream', async () => {
    const port = securePort(control);
    const owner = open(port, 'reviews-held', reviews, { ...tls(), bearer: reviewsToken });
    expect((await owner.next()).type_url).toBe(TYPE_URL.CLUSTER);

    // ratings' own token, its own metadata, but reviews' node id: would take over reviews' endpoint and config.
    const ratings = { ...reviews, SERVICE: 'ratings', SERVICE_ACCOUNT: 'ratings', INSTANCE_IPS: '127.0.0.10' };
    const takeover = open(port, 'reviews-held', ratings, { ...tls(), bearer: ratingsToken });
    const status = await takeover.ended(10_000);
    expect(status.code).toBe(7); // PERMISSION_DENIED
    expect(status.details).toMatch(/node id "reviews-held" is held by an open stream of another identity/);
    const syncz = JSON.parse((await control.admin('/debug/syncz')).text) as { proxies: { node: string; service?: string; registered: boolean }[] };
    const held = syncz.proxies.find((p) => p.node === 'reviews-held');
    expect(JSON.stringify(held)).toMatch(/reviews/);
    expect(JSON.stringify(held)).not.toMatch(/ratings|127\.0\.0\.10/);

    const second = open(port, 'reviews-held', reviews, { ...tls(), bearer: reviewsToken });
    expect((await second.next()).type_url).toBe(TYPE_URL.CLUSTER);
    for (const c of [owner, takeover, second]) c.close();
  }, 30_000);

  it('refuses a proven stream whose node id (Istio layout) names another namespace, even while no stream holds it', async () => {
    // Another namespace's proxy, offline: its id with bookinfo's token and metadata would take its config and endpoint.
    const id = 'sidecar~127.0.0.9~productpage-1.default~default.svc.cluster.local';
    const other = open(securePort(control), id, reviews, { ...tls(), bearer: reviewsToken });
    const status = await other.ended(10_000);
    expect(status.code).toBe(7); // PERMISSION_DENIED
    expect(status.details).toMatch(/node id .* names namespace "default", not bootstrap token .*'s "bookinfo"/);
    expect((await connected()).has(id)).toBe(false);

    const own = open(securePort(control), 'sidecar~127.0.0.9~reviews-1.bookinfo~bookinfo.svc.cluster.local', reviews, { ...tls(), bearer: reviewsToken });
    expect((await own.next()).type_url).toBe(TYPE_URL.CLUSTER);
    for (const c of [other, own]) c.close();
  }, 30_000);

  it('holds the same on the delta protocol: another identity may not take an open node id', async () => {
    const port = securePort(control);
    const owner = open(port, 'reviews-delta', reviews, { ...tls(), bearer: reviewsToken });
    expect((await owner.next()).type_url).toBe(TYPE_URL.CLUSTER);
    const fields = Object.fromEntries(Object.entries({ ...reviews, SERVICE: 'ratings', SERVICE_ACCOUNT: 'ratings' }).map(([k, v]) => [k, { stringValue: v }]));
    const takeover = deltaClient(port, { ...tls(), bearer: ratingsToken });
    takeover.send({ node: { id: 'reviews-delta', cluster: 'test', metadata: { fields } }, type_url: TYPE_URL.CLUSTER, resource_names_subscribe: [] });
    const status = await takeover.ended(10_000);
    expect(status.code).toBe(7);
    expect(status.details).toMatch(/node id "reviews-delta" is held by an open stream of another identity/);
    for (const c of [owner, takeover]) c.close();
  }, 30_000);

  it('names a huge claimed namespace shortened, in the status and the log', async () => {
    const huge = 'n'.repeat(200_000);
    const c = open(securePort(control), 'huge-namespace', { ...reviews, NAMESPACE: huge }, { ...tls(), bearer: reviewsToken });
    const status = await c.ended(10_000);
    expect(status.code).toBe(7);
    expect(status.details).toMatch(/NAMESPACE "n+"\.\.\. is not bootstrap token/);
    expect(status.details.length).toBeLessThan(400);
    const logged = control.lines.filter((l) => l.msg === 'xDS stream refused').map((l) => JSON.stringify(l));
    expect(Math.max(...logged.map((l) => l.length))).toBeLessThan(1000);
    c.close();
  }, 30_000);

  it('does not let a proven proxy of another namespace join bookinfo\'s service by naming its host: other proxies never get its address', async () => {
    const r = isthmus(['token', 'create', '--namespace', 'shop', '--service-account', 'cart', '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
    expect(r.code, r.stderr).toBe(0);
    const port = securePort(control);
    const owner = open(port, 'reviews-owner', reviews, { ...tls(), bearer: reviewsToken });
    expect((await owner.next()).type_url).toBe(TYPE_URL.CLUSTER);
    // Its token's namespace and account, truthfully: only SERVICE names bookinfo's host.
    const cart = { SERVICE: 'reviews.bookinfo.svc.cluster.local', NAMESPACE: 'shop', SERVICE_ACCOUNT: 'cart', INSTANCE_IPS: '127.0.0.66', APP_PORT: '9080' };
    const intruder = open(port, 'cart-1', cart, { ...tls(), bearer: r.stdout.trim() });
    expect((await intruder.next()).type_url).toBe(TYPE_URL.CLUSTER); // still served its own config
    expect((await connected()).get('cart-1')).toBe(false);

    const observer = sotwClient(control.xdsPort);
    observer.send({
      node: { id: 'observer', cluster: 'test', metadata: { fields: { NAMESPACE: { stringValue: 'bookinfo' } } } },
      type_url: TYPE_URL.ENDPOINT, resource_names: ['outbound|9080||reviews.bookinfo.svc.cluster.local'], version_info: '', response_nonce: '',
    });
    const eds = await observer.next();
    const addresses = JSON.stringify((eds.resources ?? []).map((any) => decodeAny(any)));
    expect(addresses).toMatch(/127\.0\.0\.9/);
    expect(addresses).not.toMatch(/127\.0\.0\.66/);
    for (const c of [owner, intruder, observer]) c.close();
  }, 30_000);

  it('serves the plaintext port (loopback) without a token, as before', async () => {
    const plain = open(control.xdsPort, 'plain-1', { ...reviews, SERVICE_ACCOUNT: 'anything' }, {});
    expect((await plain.next()).type_url).toBe(TYPE_URL.CLUSTER);
    plain.close();
  }, 30_000);
});
