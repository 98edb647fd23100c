// The source workload's attributes through the mesh (issue 14 item 1):
// source.labels and source.workload.name are not in a request; the control
// plane derives them from its registry (the sidecars it serves, with labels
// and service accounts) by the source.ip and mTLS principal the server
// sidecar sends, as Mixer's kubernetesenv adapter did. Real processes: the
// control plane, reviews behind a two-worker sidecar, and two client
// sidecars (productpage, ratings) with workload identities. A rule on those
// attributes denies exactly the requests of one workload, and the server
// sidecar's shared check cache never hands one workload's answer to the other.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, startMeshSidecar, type RunningControl } from '../control/e2e/control-harness.js';
import { keepAliveAgent, outboundPort, request, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { mixerDoc } from '../support/mixer-config.js';

const CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms', '--policy-check-timeout', '5s'];

const POLICY = [
  // A denier on the source's app label, for requests that ask for it (x-case: labels).
  mixerDoc('handler', 'deny-ratings', 'compiledAdapter: denier\nparams:\n  status: { code: 7, message: not from ratings }\n  validDuration: 60s\n  validUseCount: 10000'),
  mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
  mixerDoc('rule', 'deny-ratings', 'match: request.headers["x-case"] == "labels" && source.labels["app"] == "ratings"\nactions:\n- handler: deny-ratings\n  instances: [nothing]'),
  // A list (blacklist) of workload names, on paths under /listed.
  mixerDoc('handler', 'blocked-workloads', 'compiledAdapter: list\nparams:\n  overrides: [productpage]\n  entryType: STRINGS\n  blacklist: true'),
  mixerDoc('instance', 'workload', 'compiledTemplate: listentry\nparams:\n  value: source.workload.name | "unknown"'),
  mixerDoc('rule', 'blocked-workloads', 'match: request.path.startsWith("/listed")\nactions:\n- handler: blocked-workloads\n  instances: [workload]'),
  // Reported requests by source workload.
  mixerDoc('handler', 'prom', 'compiledAdapter: prometheus\nparams:\n  metrics:\n  - name: by_source\n    instance_name: bysource.istio-system\n    kind: COUNTER\n    label_names: [workload]'),
  mixerDoc('instance', 'bysource', 'compiledTemplate: metric\nparams:\n  value: "1"\n  dimensions:\n    workload: source.workload.name | "unknown"'),
  mixerDoc('rule', 'prom', 'actions:\n- handler: prom\n  instances: [bysource]'),
].join('---\n');

let control: RunningControl;
let app: Upstream;
const proxies: RunningProxy[] = [];
let productpage: RunningProxy;
let ratings: RunningProxy;

function get(from: RunningProxy, path: string, kase = 'none'): Promise<number> {
  return request(outboundPort(from), path, { headers: { host: 'reviews:9080', 'x-case': kase }, agent: keepAliveAgent, timeoutMs: 8000 }).then((r) => r.status);
}

beforeAll(async () => {
  control = await startControl((dir) => writeFileSync(join(dir, 'policy.yaml'), POLICY), undefined, CONTROL_ARGS);
  app = await startUpstream();
  proxies.push(await startMeshSidecar(control, { service: 'reviews', appPort: app.port, workers: 2 }));
  productpage = await startMeshSidecar(control, { service: 'productpage' });
  ratings = await startMeshSidecar(control, { service: 'ratings' });
  proxies.push(productpage, ratings);
  await waitFor('both clients reach reviews', async () => (await get(productpage, '/')) === 200 && (await get(ratings, '/')) === 200, 30_000);
}, 90_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await app?.close();
  await control?.stop();
  control?.remove();
});

describe('source workload attributes from the control plane\'s registry', { timeout: 60_000 }, () => {
  it('a denier on source.labels["app"] denies exactly the requests from that workload, whichever asks first', async () => {
    // productpage first: its OK must not be served from the cache to ratings; then the other way round on a new path.
    expect(await get(productpage, '/a', 'labels')).toBe(200);
    expect(await get(ratings, '/a', 'labels')).toBe(403);
    expect(await get(ratings, '/b', 'labels')).toBe(403);
    expect(await get(productpage, '/b', 'labels')).toBe(200);
    // Many, interleaved, over both server workers: the split is exact.
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => get(i % 2 === 0 ? productpage : ratings, `/c/${i % 4}`, 'labels')));
    expect(statuses.filter((s, i) => (i % 2 === 0 ? s === 200 : s === 403))).toHaveLength(40);
  });

  it('a list (blacklist) on source.workload.name denies exactly the requests from that workload', async () => {
    expect(await get(ratings, '/listed/1')).toBe(200);
    expect(await get(productpage, '/listed/1')).toBe(403);
    expect(await get(productpage, '/listed/2')).toBe(403);
    expect(await get(ratings, '/listed/2')).toBe(200);
    expect(await get(productpage, '/open')).toBe(200);
  });

  it('Reports carry the source workload too: the prometheus handler counts requests by source.workload.name', async () => {
    for (let i = 0; i < 3; i++) expect(await get(ratings, '/report')).toBe(200);
    await waitFor('requests counted by source workload', async () => {
      const text = (await control.admin('/metrics')).text;
      const m = /by_source\{[^}]*workload="ratings"[^}]*\} (\d+)/.exec(text);
      return m !== null && Number(m[1]) >= 3;
    }, 15_000);
    expect((await control.admin('/metrics')).text).not.toMatch(/by_source\{[^}]*workload="unknown"/);
  });
});
