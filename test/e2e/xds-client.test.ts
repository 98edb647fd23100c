// `isthmus proxy --control`: a real proxy process as an xDS client of the real
// ADS server (createAdsServer + SnapshotCache on 127.0.0.1), routing to real
// node:http upstreams. Covers first sync, a route change under load, a NACKed
// resource (old routes keep serving), a control plane that goes away and comes
// back on the same port, and delta vs state-of-the-world convergence.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../control/xds/ads-server.js';
import { SnapshotCache } from '../../control/xds/snapshot-cache.js';
import { Snapshot } from '../../control/xds/snapshot.js';
import { TYPE_URL } from '../../src/xds/xds-protos.js';
import { createLogger } from '../../src/log.js';
import { cluster, endpoints, listener } from '../control/xds/xds-fixtures.js';
import {
  bootstrapWith, CLI, configDump, replyName, request, ROOT, startProxy, startUpstream, tempDir, waitFor, type RunningProxy, type Upstream,
} from './harness.js';

const LOAD_MAX_REQUESTS = 5000;
const LOAD_MAX_MS = 20_000;

interface XdsDump {
  state: string;
  connects: number;
  synced: boolean;
  nodeId: string;
  types: Record<string, { version: string; resources: number }>;
  lastNack: { typeUrl: string; message: string } | null;
}

let upstreamA: Upstream;
let upstreamB: Upstream;
let target = 'a';
let routeVersion = 1;
let badCluster = false;
let ads: AdsServer;
let cache: SnapshotCache;
let adsPort: number;
let proxy: RunningProxy;

/** The control plane's current view: listener xds-outbound → route r1 → cluster `target`. */
function currentSnapshot(): Snapshot {
  const clusters = [cluster('a'), cluster('b')];
  if (badCluster) clusters.push({ ...cluster('reviews'), ignore_health_on_host_removal: true });
  return new Snapshot({
    [TYPE_URL.CLUSTER]: { version: badCluster ? 'c-bad' : 'c1', resources: clusters },
    [TYPE_URL.ENDPOINT]: {
      version: badCluster ? 'e-bad' : 'e1',
      resources: [endpoints('a', [upstreamA.port]), endpoints('b', [upstreamB.port]), ...(badCluster ? [endpoints('reviews', [upstreamA.port])] : [])],
    },
    [TYPE_URL.LISTENER]: { version: 'l1', resources: [listener('xds-outbound', 0, 'r1')] },
    [TYPE_URL.ROUTE]: {
      version: `r${routeVersion}`,
      resources: [{ name: 'r1', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: target } }] }] }],
    },
  });
}

async function startControlPlane(port: number): Promise<void> {
  cache = new SnapshotCache();
  // Hand every node the current snapshot when its stream opens.
  ads = createAdsServer(cache, { onStreamOpen: (node) => cache.setSnapshot(node.id, currentSnapshot()) }, { logger: createLogger('xds-e2e', 'silent') });
  adsPort = await ads.listen('127.0.0.1', port);
}

function push(): void {
  for (const nodeId of cache.nodeIds()) cache.setSnapshot(nodeId, currentSnapshot());
}

function startXdsProxy(extra: string[] = []): Promise<RunningProxy> {
  // A static listener from the file besides the xDS ones (--bootstrap and --control together).
  const file = bootstrapWith({ virtual_hosts: [{ name: 'local', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'static' } } }] }] }, []);
  return startProxy({
    bootstrap: file,
    args: ['--control', `127.0.0.1:${adsPort}`, '--service', 'reviews', '--version', 'v1', '--label', 'team=books', '--app-port', '9080', ...extra],
  });
}

async function xdsDump(p: RunningProxy): Promise<XdsDump> {
  return ((await configDump(p)) as unknown as { xds: XdsDump }).xds;
}

async function answer(p: RunningProxy): Promise<string> {
  const r = await request(p.ports.get('xds-outbound')!, '/');
  return `${r.status} ${r.body}`;
}

beforeAll(async () => {
  upstreamA = await startUpstream(replyName('a'));
  upstreamB = await startUpstream(replyName('b'));
  await startControlPlane(0);
  proxy = await startXdsProxy();
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await ads?.close();
  await upstreamA?.close();
  await upstreamB?.close();
});

describe('isthmus proxy --control', () => {
  it('receives listener, route, cluster and endpoints and routes a request to the upstream', async () => {
    expect(proxy.ports.has('xds-outbound')).toBe(true);
    expect(await answer(proxy)).toBe('200 a');
    expect((await request(proxy.ports.get('outbound')!, '/')).body).toBe('static');
    const dump = await xdsDump(proxy);
    expect(dump).toMatchObject({ state: 'connected', synced: true, lastNack: null });
    expect(dump.types[TYPE_URL.ROUTE]).toMatchObject({ version: 'r1', resources: 1 });
    expect(dump.types[TYPE_URL.ENDPOINT]).toMatchObject({ version: 'e1', resources: 2 });
    // Stable per data dir (not the pid): `isthmus proxy-status` names it alike across restarts.
    expect(dump.nodeId).toMatch(/^sidecar~127\.0\.0\.1~reviews-[0-9a-f]{10}\.default~default\.svc\.cluster\.local$/);
    const stream = ads.status().find((s) => s.node.id === dump.nodeId)!;
    expect(stream.node.metadata).toMatchObject({ SERVICE: 'reviews', NAMESPACE: 'default', APP_PORT: '9080', LABELS: { app: 'reviews', version: 'v1', team: 'books' } });
  });

  it('follows a route change without dropping a request', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const port = proxy.ports.get('xds-outbound')!;
    const failures: string[] = [];
    const seen = new Set<string>();
    let sent = 0;
    let stop = false;
    const deadline = Date.now() + LOAD_MAX_MS;
    const client = async (): Promise<void> => {
      while (!stop && sent < LOAD_MAX_REQUESTS && Date.now() < deadline) {
        sent++;
        try {
          const r = await request(port, '/', { agent, timeoutMs: 5000 });
          if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
          else seen.add(r.body);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const load = Promise.all([client(), client()]);
    // At least 200 ms and 11 requests on each side of the change (on a loaded machine 200 ms may hold only a few).
    await new Promise((resolve) => setTimeout(resolve, 200));
    await waitFor('requests before the change', () => sent > 10);
    target = 'b';
    routeVersion++;
    push();
    await waitFor('responses from b', async () => (await request(port, '/')).body === 'b');
    const atB = sent;
    await new Promise((resolve) => setTimeout(resolve, 200));
    await waitFor('requests after the change', () => sent > atB + 10);
    stop = true;
    await load;
    agent.destroy();
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(20);
    expect([...seen].sort()).toEqual(['a', 'b']);
    expect((await xdsDump(proxy)).types[TYPE_URL.ROUTE]!.version).toBe(`r${routeVersion}`);
  });

  it('NACKs an unsupported resource with a precise message and keeps serving the old routes', async () => {
    const before = await answer(proxy);
    badCluster = true;
    push();
    const message = 'Cluster reviews: ignore_health_on_host_removal is not supported';
    const nodeId = (await xdsDump(proxy)).nodeId;
    await waitFor('the NACK at the control plane', () =>
      ads.status().find((s) => s.node.id === nodeId)?.types.some((t) => t.typeUrl === TYPE_URL.CLUSTER && t.nackMessage === message));
    const dump = await xdsDump(proxy);
    expect(dump.lastNack).toMatchObject({ typeUrl: TYPE_URL.CLUSTER, message });
    expect(dump.types[TYPE_URL.CLUSTER]!.version).toBe('c1');
    expect(await answer(proxy)).toBe(before);
    badCluster = false;
    push();
    await waitFor('the fixed clusters ACKed', () =>
      ads.status().find((s) => s.node.id === nodeId)?.types.some((t) => t.typeUrl === TYPE_URL.CLUSTER && t.ackedVersion === 'c1' && t.nackMessage === null));
  });

  it('keeps routing while the control plane is down and resyncs from a new one on the same port', async () => {
    const connectsBefore = (await xdsDump(proxy)).connects;
    const port = adsPort;
    await ads.close();
    await waitFor('the proxy to see the stream end', async () => (await xdsDump(proxy)).state !== 'connected');
    for (let i = 0; i < 20; i++) expect(await answer(proxy)).toBe('200 b');
    target = 'a';
    routeVersion++;
    await startControlPlane(port);
    await waitFor('the proxy to resync to the new route', async () => (await answer(proxy)) === '200 a', 20_000);
    const dump = await xdsDump(proxy);
    expect(dump.connects).toBe(connectsBefore + 1);
    expect(dump.types[TYPE_URL.ROUTE]!.version).toBe(`r${routeVersion}`);
  }, 30_000);

  it('converges to the same config with --xds-protocol sotw as with delta', async () => {
    const sotw = await startXdsProxy(['--xds-protocol', 'sotw']);
    try {
      expect(await answer(sotw)).toBe(await answer(proxy));
      const strip = (dump: Awaited<ReturnType<typeof configDump>>) =>
        (dump as unknown as { bootstrap: { listeners: { name: string; address: { port: number } }[]; clusters: unknown[] } }).bootstrap;
      const [a, b] = [strip(await configDump(proxy)), strip(await configDump(sotw))];
      const withoutPorts = (x: typeof a) => ({ ...x, listeners: x.listeners.map((l) => ({ ...l, address: { ...l.address, port: 0 } })) });
      expect(withoutPorts(b)).toEqual(withoutPorts(a));
      const [da, db] = [await xdsDump(proxy), await xdsDump(sotw)];
      for (const typeUrl of [TYPE_URL.CLUSTER, TYPE_URL.ENDPOINT, TYPE_URL.LISTENER, TYPE_URL.ROUTE]) {
        expect(db.types[typeUrl]!.version).toBe(da.types[typeUrl]!.version);
      }
      expect(ads.status().map((s) => s.protocol).sort()).toEqual(['delta', 'sotw']);
    } finally {
      await sotw.stop();
    }
  }, 30_000);

  it('runs from the control plane alone (no --bootstrap): ready only once the first config serves', async () => {
    const dir = tempDir('xds-only');
    const child = spawn(process.execPath, [CLI, 'proxy', '--control', `127.0.0.1:${adsPort}`, '--service', 'ratings', '--admin-port', '0',
      '--data-dir', join(dir.path, 'data'), '--access-log', 'off', '--log-level', 'warn'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const ready = await waitFor('proxy ready', () => out.split('\n').map((line) => {
        try {
          return JSON.parse(line) as { msg?: string; listeners?: { name: string; port: number }[]; admin?: { port: number } };
        } catch {
          return {};
        }
      }).find((line) => line.msg === 'proxy ready'), 15_000);
      expect(ready.listeners!.map((l) => l.name)).toEqual(['xds-outbound']);
      const r = await request(ready.listeners![0]!.port, '/');
      expect(`${r.status} ${r.body}`).toBe(await answer(proxy));
      const dump = JSON.parse((await request(ready.admin!.port, '/debug/config_dump')).body) as { bootstrapFile: unknown; xds: XdsDump };
      expect(dump.bootstrapFile).toBeNull();
      expect(dump.xds.nodeId).toContain('~ratings-');
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      dir.remove();
    }
  }, 30_000);
});
