// The mesh end to end with real processes (issue 4, "Tests"): `isthmus control`
// watching a config folder, sidecars (`isthmus proxy --control`) registering
// themselves, node:http apps behind them. A 90/10 split applied under traffic,
// a NACKed DestinationRule, delta vs state-of-the-world, Sidecar scoping.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, startControl, type RunningControl } from '../control/e2e/control-harness.js';
import {
  admin, configDump, keepAliveAgent, outboundPort, replyName, request, ROOT, startSidecar, startUpstream, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms'];

const DESTINATION_RULE = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
const SPLIT = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: split
    route:
    - {destination: {host: reviews, subset: v1}, weight: 90}
    - {destination: {host: reviews, subset: v2}, weight: 10}
`;

let control: RunningControl | null = null;
let proxies: RunningProxy[] = [];
let upstreams: Upstream[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await Promise.all(upstreams.map((u) => u.close()));
  proxies = [];
  upstreams = [];
  await control?.stop();
  control?.remove();
  control = null;
});

async function sidecar(xdsPort: number, o: Parameters<typeof startSidecar>[1]): Promise<RunningProxy> {
  const p = await startSidecar(xdsPort, o);
  proxies.push(p);
  return p;
}

async function app(name: string): Promise<Upstream> {
  const u = await startUpstream(replyName(name));
  upstreams.push(u);
  return u;
}

/** reviews v1 and v2 sidecars, each in front of an app answering its version. */
async function reviews(xdsPort: number): Promise<RunningProxy[]> {
  const [v1, v2] = await Promise.all([app('v1'), app('v2')]);
  return Promise.all([
    sidecar(xdsPort, { service: 'reviews', version: 'v1', appPort: v1.port }),
    sidecar(xdsPort, { service: 'reviews', version: 'v2', appPort: v2.port }),
  ]);
}

function getReviews(proxy: RunningProxy, host = 'reviews:9080') {
  return request(outboundPort(proxy), '/reviews', { headers: { host }, agent: keepAliveAgent, timeoutMs: 5000 });
}

/** `count` requests, 8 at a time; the bodies seen (a failed request counts as `failed <status or error>`). */
async function tally(proxy: RunningProxy, count: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      next++;
      const key = await getReviews(proxy).then((r) => (r.status === 200 ? r.body : `failed ${r.status}`), (e: Error) => `failed ${e.message}`);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 8 }, lane));
  return seen;
}

/** The proxy's routes carry the 90/10 split and every worker runs that version. */
async function hasSplit(proxy: RunningProxy): Promise<boolean> {
  const dump = await configDump(proxy);
  return JSON.stringify(dump.bootstrap?.listeners ?? []).includes('"weight":90') && dump.workers.every((w) => w.appliedVersion === dump.version);
}

function proxyStatus(c: RunningControl): string {
  const r = isthmus(['proxy-status', '--control', `http://127.0.0.1:${c.adminPort}`], ROOT);
  if (r.code !== 0) throw new Error(`proxy-status exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe('the mesh with real sidecars', () => {
  it('applies a 90/10 split while traffic flows through two client proxies: no request fails and the split holds', async () => {
    control = await startControl(undefined, undefined, CONTROL_ARGS);
    await reviews(control.xdsPort);
    const clients = await Promise.all([0, 1].map(() => sidecar(control!.xdsPort, { service: 'productpage', workers: 2 })));
    // Before the rule: both versions are plain endpoints of reviews.
    await waitFor('both reviews endpoints at both clients', async () => (await Promise.all(clients.map((c) => tally(c, 40)))).every((t) => t.has('v1') && t.has('v2')));

    let flowing = true;
    const during = clients.map(async (c) => {
      const seen = new Map<string, number>();
      for (let i = 0; flowing && i < 20_000; i++) {
        const key = await getReviews(c).then((r) => (r.status === 200 ? 'ok' : `failed ${r.status}`), (e: Error) => `failed ${e.message}`);
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return seen;
    });
    const appliedAt = performance.now();
    writeFileSync(join(control.configDir, 'reviews-destination-rule.yaml'), DESTINATION_RULE);
    writeFileSync(join(control.configDir, 'reviews-virtual-service.yaml'), SPLIT);
    await waitFor('the split at both clients', async () => (await Promise.all(clients.map(hasSplit))).every(Boolean), 10_000);
    const convergedMs = performance.now() - appliedAt;
    flowing = false;
    const tallies = await Promise.all(during);
    console.log(`files written -> split applied by every worker of both clients: ${convergedMs.toFixed(0)} ms; requests during the change: ${JSON.stringify(tallies.map((t) => [...t]))}`);
    for (const t of tallies) expect([...t.keys()]).toEqual(['ok']);

    for (const c of clients) {
      const t = await tally(c, 1000);
      const v2 = (t.get('v2') ?? 0) / 1000;
      console.log(`client ${outboundPort(c)}: ${JSON.stringify([...t])}`);
      expect((t.get('v1') ?? 0) + (t.get('v2') ?? 0)).toBe(1000);
      expect(v2).toBeGreaterThan(0.05);
      expect(v2).toBeLessThan(0.15);
    }
    expect(proxyStatus(control)).not.toMatch(/NACKED|STALE/);
  }, 60_000);

  it('a DestinationRule with outlierDetection reaches the proxies (ACKed) and the routes keep serving', async () => {
    control = await startControl((dir) => writeFileSync(join(dir, 'reviews-virtual-service.yaml'), SPLIT.replace('weight: 90}', 'weight: 100}').replace(/\n.*subset: v2.*\n/, '\n')), undefined, CONTROL_ARGS);
    writeFileSync(join(control.configDir, 'reviews-destination-rule.yaml'), DESTINATION_RULE);
    await reviews(control.xdsPort);
    const client = await sidecar(control.xdsPort, { service: 'productpage' });
    await waitFor('all reviews to v1', async () => (await tally(client, 20)).get('v1') === 20);

    writeFileSync(join(control.configDir, 'reviews-destination-rule.yaml'), `${DESTINATION_RULE}  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 5, interval: 10s}\n`);
    const dump = await waitFor('outlier detection in the proxy\'s config', async () => {
      const text = JSON.stringify(await configDump(client));
      return text.includes('"outlierDetection":{"consecutive5xx":5') ? text : undefined;
    }, 10_000);
    expect(dump).toContain('"intervalMs":10000');
    const status = await waitFor('proxy-status SYNCED', () => {
      const text = proxyStatus(control!);
      return /productpage\.default\s+delta\s+SYNCED/.test(text) ? text : undefined;
    }, 10_000);
    expect(status).not.toMatch(/NACKED/);
    const t = await tally(client, 100);
    expect([...t]).toEqual([['v1', 100]]);
  }, 30_000);

  it('a delta and a state-of-the-world proxy of the same service converge on the same config', async () => {
    control = await startControl((dir) => {
      writeFileSync(join(dir, 'reviews-destination-rule.yaml'), DESTINATION_RULE);
      writeFileSync(join(dir, 'reviews-virtual-service.yaml'), SPLIT);
    }, undefined, CONTROL_ARGS);
    await reviews(control.xdsPort);
    const [delta, sotw] = await Promise.all([
      sidecar(control.xdsPort, { service: 'productpage', protocol: 'delta' }),
      sidecar(control.xdsPort, { service: 'productpage', protocol: 'sotw' }),
    ]);
    /** The bootstrap with the proxy's own outbound port masked (each proxy has its own). */
    const normalized = async (p: RunningProxy): Promise<string> => {
      const dump = await configDump(p);
      return JSON.stringify(dump.bootstrap).replace(new RegExp(`(?<![0-9])${outboundPort(p)}(?![0-9])`, 'g'), 'OUTBOUND_PORT');
    };
    let last: string[] = [];
    const [d, s] = await waitFor('both with both reviews endpoints and the split', async () => {
      const both = await Promise.all([normalized(delta), normalized(sotw)]);
      last = both;
      return both.every((b) => b.includes('"weight":90') && (b.match(/outbound\|9080\|v[12]\|/g) ?? []).length >= 4) && both[0] === both[1] ? both : undefined;
    }, 10_000).catch((err: Error) => {
      throw new Error(`${err.message}\ndelta: ${last[0]}\nsotw:  ${last[1]}`);
    });
    expect(d).toBe(s);
    expect(d).toContain('outbound|9080|v2|reviews.default.svc.cluster.local');
    const status = proxyStatus(control);
    expect(status).toMatch(/productpage\.default\s+delta\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
    expect(status).toMatch(/productpage\.default\s+sotw\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
  }, 30_000);

  it('a Sidecar scoping the productpage namespace to ./* keeps another namespace\'s service out of its config', async () => {
    control = await startControl(undefined, undefined, CONTROL_ARGS);
    const [reviewsApp, ledgerApp] = await Promise.all([app('reviews'), app('ledger')]);
    await Promise.all([
      sidecar(control.xdsPort, { service: 'reviews', namespace: 'shop', version: 'v1', appPort: reviewsApp.port }),
      sidecar(control.xdsPort, { service: 'ledger', namespace: 'finance', version: 'v1', appPort: ledgerApp.port }),
    ]);
    const client = await sidecar(control.xdsPort, { service: 'productpage', namespace: 'shop' });
    const clusters = async (): Promise<string> => (await admin(client, '/clusters')).body;
    // Unscoped, the client sees every namespace.
    await waitFor('ledger.finance in the unscoped config', async () => (await clusters()).includes('ledger.finance.svc.cluster.local'));
    expect((await getReviews(client, 'ledger.finance:9080')).body).toBe('ledger');

    writeFileSync(join(control.configDir, 'sidecar.yaml'), `apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  egress:
  - hosts: ["./*"]
`);
    await waitFor('ledger.finance gone from the scoped config', async () => !(await clusters()).includes('ledger.finance.svc.cluster.local'), 10_000);
    const text = JSON.stringify((await configDump(client)).bootstrap);
    expect(text).not.toContain('ledger');
    expect(text).toContain('outbound|9080||reviews.shop.svc.cluster.local');
    expect((await getReviews(client, 'reviews.shop:9080')).body).toBe('reviews');
    expect((await getReviews(client, 'ledger.finance:9080')).status).toBe(404);
  }, 30_000);
});
