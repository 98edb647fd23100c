// The mesh end to end with real processes (issue 4, "Tests"): the data plane
// outlives its control plane (SIGKILL, then a restart on the same port and
// data dir that every proxy resyncs with), and a sidecar that exits leaves
// the other proxies' endpoints within the registration grace period + 1 s.
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, startControl, type RunningControl } from '../control/e2e/control-harness.js';
import {
  admin, keepAliveAgent, outboundPort, replyName, request, ROOT, startSidecar, startUpstream, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

const GRACE_MS = 500;
const CONTROL_ARGS = ['--registration-grace', `${GRACE_MS}ms`, '--push-debounce-quiet', '20ms'];

let controls: RunningControl[] = [];
let proxies: RunningProxy[] = [];
let upstreams: Upstream[] = [];

afterEach(async () => {
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await Promise.all(upstreams.map((u) => u.close()));
  for (const c of controls) {
    await c.stop();
    c.remove();
  }
  proxies = [];
  upstreams = [];
  controls = [];
});

/** reviews v1 and v2 sidecars (each before an app answering its version) and one productpage client. */
async function mesh(xdsPort: number): Promise<{ reviews: RunningProxy[]; client: RunningProxy }> {
  upstreams = await Promise.all([startUpstream(replyName('v1')), startUpstream(replyName('v2'))]);
  const reviews = await Promise.all(upstreams.map((u, i) => startSidecar(xdsPort, { service: 'reviews', version: `v${i + 1}`, appPort: u.port })));
  proxies.push(...reviews);
  const client = await startSidecar(xdsPort, { service: 'productpage' });
  proxies.push(client);
  return { reviews, client };
}

/** `count` sequential requests to reviews through the client; the bodies (failures as `failed ...`). */
async function tally(client: RunningProxy, count: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const key = await request(outboundPort(client), '/', { headers: { host: 'reviews:9080' }, agent: keepAliveAgent, timeoutMs: 5000 })
      .then((r) => (r.status === 200 ? r.body : `failed ${r.status}`), (e: Error) => `failed ${e.message}`);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return seen;
}

function proxyStatus(c: RunningControl): string {
  const r = isthmus(['proxy-status', '--control', `http://127.0.0.1:${c.adminPort}`], ROOT);
  return r.code === 0 ? r.stdout : '';
}

const allSynced = (text: string, proxies: number): boolean =>
  text.split('\n').filter((l) => /\s(delta|sotw)\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s*$/.test(l)).length === proxies;

describe('the mesh without its control plane', () => {
  it('keeps serving when the control plane is SIGKILLed, and every proxy resyncs with a restart on the same port and data dir', async () => {
    const first = await startControl(undefined, undefined, CONTROL_ARGS);
    controls.push(first);
    const { client } = await mesh(first.xdsPort);
    await waitFor('both versions through the client', async () => (await tally(client, 20)).size === 2);
    await waitFor('all three proxies SYNCED', () => allSynced(proxyStatus(first), 3));

    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor('the client to notice', () => client.lines.some((l) => l.msg === 'xds stream lost; keeping the last good config'));
    const without = await tally(client, 200);
    expect([...without.keys()].sort()).toEqual(['v1', 'v2']);

    const restartedAt = performance.now();
    const second = await startControl(undefined, { configDir: first.configDir, dataDir: first.dataDir }, [...CONTROL_ARGS, '--xds-port', String(first.xdsPort)]);
    controls.push(second);
    expect(second.xdsPort).toBe(first.xdsPort);
    const status = await waitFor('every proxy SYNCED with the restarted control plane', () => {
      const text = proxyStatus(second);
      return allSynced(text, 3) ? text : undefined;
    }, 15_000);
    console.log(`control restart -> all 3 proxies SYNCED: ${(performance.now() - restartedAt).toFixed(0)} ms\n${status}`);
    const after = await tally(client, 100);
    expect([...after.keys()].sort()).toEqual(['v1', 'v2']);
  }, 60_000);

  it('drops a reviews sidecar that exits from the client\'s endpoints within the grace period + 1 s', async () => {
    const control = await startControl(undefined, undefined, CONTROL_ARGS);
    controls.push(control);
    const { reviews, client } = await mesh(control.xdsPort);
    const v2Inbound = reviews[1]!.ports.get('inbound')!;
    expect(v2Inbound).toBeGreaterThan(0);
    const clusters = async (): Promise<string> => (await admin(client, '/clusters')).body;
    await waitFor('the v2 endpoint at the client', async () => (await clusters()).includes(`127.0.0.1:${v2Inbound}::`));

    const stoppedAt = performance.now();
    const exited = reviews[1]!.stop('SIGTERM');
    await waitFor('the v2 endpoint gone from the client', async () => !(await clusters()).includes(`127.0.0.1:${v2Inbound}::`), 5000);
    const goneMs = performance.now() - stoppedAt;
    console.log(`sidecar SIGTERM -> its endpoint gone from the client's /clusters: ${goneMs.toFixed(0)} ms (grace ${GRACE_MS} ms)`);
    expect(goneMs).toBeLessThan(GRACE_MS + 1000);
    await exited;
    expect([...(await tally(client, 50)).keys()]).toEqual(['v1']);
  }, 60_000);
});
