// Hot reload of a running proxy: the bootstrap file replaced 20 times under
// steady load (no request fails, every response after a reload reflects it),
// an invalid file rejected (the old routes keep working), and SIGHUP.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapYaml, configDump, metric, replaceFile, request, startProxy, startUpstream, taggedBootstrap, tempDir, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

const RELOADS = 20;
const LOAD_CLIENTS = 2;
const LOAD_MAX_REQUESTS = 20_000;
const LOAD_MAX_MS = 60_000;

const dir = tempDir('reload');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;
let proxy: RunningProxy;
let port: number;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
  proxy = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data'), workers: 2 });
  port = proxy.ports.get('outbound')!;
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await upstream?.close();
  dir.remove();
});

/** Waits until /debug/config_dump shows a version above `after` that every worker applied; returns it. */
async function settledVersionAfter(after: number): Promise<number> {
  return waitFor(`every worker on a version after ${after}`, async () => {
    const dump = await configDump(proxy);
    return dump.version > after && dump.workers.every((w) => w.appliedVersion === dump.version) ? dump.version : 0;
  });
}

interface LoadResult {
  sent: number;
  failures: string[];
}

/** Keep-alive clients sending GET /load until stopped, bounded in count and time. */
function startLoad(): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { sent: 0, failures: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOAD_CLIENTS });
  const deadline = Date.now() + LOAD_MAX_MS;
  let stopping = false;
  const client = async (): Promise<void> => {
    while (!stopping && result.sent < LOAD_MAX_REQUESTS && Date.now() < deadline) {
      result.sent++;
      try {
        const r = await request(port, '/load', { agent, timeoutMs: 5000 });
        if (r.status !== 200 || r.body !== 'upstream /load\n') result.failures.push(`status ${r.status}: ${r.body}`);
      } catch (err) {
        result.failures.push((err as Error).message);
      }
    }
  };
  const clients = Array.from({ length: LOAD_CLIENTS }, client);
  return {
    async stop() {
      stopping = true;
      await Promise.all(clients);
      agent.destroy();
      return result;
    },
  };
}

describe('hot reload', () => {
  it(`applies ${RELOADS} reloads under steady load without a failed request`, async () => {
    const load = startLoad();
    // One connection kept open across all reloads: it must stay open and follow every new config.
    const kept = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await request(port, '/kept', { agent: kept })).headers['x-config']).toBe('v1');
    let version = (await configDump(proxy)).version;
    expect(version).toBe(1);
    for (let i = 2; i <= RELOADS + 1; i++) {
      const tag = `v${i}`;
      replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag })));
      version = await settledVersionAfter(version);
      // Fresh connections and the load's kept-alive ones both see the new routes now.
      expect(await request(port, '/version')).toMatchObject({ status: 200, body: tag });
      const proxied = await request(port, `/after/${i}`);
      expect(proxied.status).toBe(200);
      expect(proxied.headers['x-config']).toBe(tag);
      const onKept = await request(port, '/kept', { agent: kept });
      expect(onKept.reusedSocket).toBe(true);
      expect(onKept.headers['x-config']).toBe(tag);
    }
    kept.destroy();
    const result = await load.stop();
    expect(result.failures).toEqual([]);
    expect(result.sent).toBeGreaterThan(RELOADS);
    expect(version).toBe(RELOADS + 1);
    // A port-0 listener keeps the port it was given across reloads.
    const dump = await configDump(proxy);
    expect(dump.bootstrap?.listeners[0]?.address.port).toBe(port);
    expect(metric((await admin(proxy, '/stats/prometheus')).body, 'isthmus_config_version')).toBe(RELOADS + 1);
  }, 120_000);

  it('rejects an invalid file, keeps the old routes and reports the problem', async () => {
    const before = await configDump(proxy);
    const good = bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'good' }));
    const bad = bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'bad' })).replace('    type: STATIC\n', '    type: STATIC\n    lrs_server: {}\n');
    const badLine = bad.split('\n').findIndex((l) => l.includes('lrs_server')) + 1;
    replaceFile(bootstrapPath, bad);
    const dump = await waitFor('the rejection', async () => {
      const d = await configDump(proxy);
      return d.configRejectedTotal === 1 ? d : undefined;
    });
    expect(dump.version).toBe(before.version);
    expect(dump.lastRejected?.problems.join('\n')).toContain(`bootstrap.yaml:${badLine}: static_resources.clusters[0].lrs_server`);
    const stats = (await admin(proxy, '/stats/prometheus')).body;
    expect(metric(stats, 'isthmus_config_rejected_total')).toBe(1);
    expect(metric(stats, 'isthmus_config_version')).toBe(before.version);
    expect(await request(port, '/version')).toMatchObject({ status: 200, body: `v${RELOADS + 1}` });
    expect((await request(port, '/still-routed')).status).toBe(200);
    expect(proxy.lines.some((l) => l.level === 50 && String(l.msg).includes('lrs_server'))).toBe(true);
    expect((await admin(proxy, '/ready')).status).toBe(200);

    // Fixing the file is picked up again.
    replaceFile(bootstrapPath, good);
    await settledVersionAfter(before.version);
    expect(await request(port, '/version')).toMatchObject({ status: 200, body: 'good' });
  }, 30_000);

  it('re-reads the file on SIGHUP', async () => {
    const before = (await configDump(proxy)).version;
    writeFileSync(join(dir.path, 'unrelated.txt'), 'ignored'); // another file in the directory changes nothing
    proxy.child.kill('SIGHUP');
    const after = await settledVersionAfter(before);
    expect(after).toBe(before + 1);
    expect(await request(port, '/version')).toMatchObject({ status: 200, body: 'good' });
  }, 30_000);

  it('opens a listener added by a reload on a port of its own and closes it when removed', async () => {
    const before = (await configDump(proxy)).version;
    replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'two', extraListeners: ['extra'] })));
    const added = await settledVersionAfter(before);
    const listeners = (await configDump(proxy)).bootstrap?.listeners ?? [];
    const extraPort = listeners.find((l) => l.name === 'extra')?.address.port ?? 0;
    expect(extraPort).toBeGreaterThan(0);
    expect(extraPort).not.toBe(port);
    expect(listeners.find((l) => l.name === 'outbound')?.address.port).toBe(port);
    expect(await request(extraPort, '/version')).toMatchObject({ status: 200, body: 'two' });
    expect(await request(port, '/version')).toMatchObject({ status: 200, body: 'two' });

    replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'one' })));
    await settledVersionAfter(added);
    await waitFor('the removed listener to refuse connections', async () => {
      try {
        await request(extraPort, '/version', { timeoutMs: 1000 });
        return false;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
      }
    });
    expect(await request(port, '/version')).toMatchObject({ status: 200, body: 'one' });
  }, 30_000);

  it('follows a Kubernetes-style ConfigMap update (the ..data symlink swapped, the file name untouched)', async () => {
    const mount = join(dir.path, 'configmap');
    mkdirSync(join(mount, '..v1'), { recursive: true });
    writeFileSync(join(mount, '..v1', 'bootstrap.yaml'), bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'cm1' })));
    symlinkSync('..v1', join(mount, '..data'));
    symlinkSync(join('..data', 'bootstrap.yaml'), join(mount, 'bootstrap.yaml'));
    const cm = await startProxy({ bootstrapPath: join(mount, 'bootstrap.yaml'), dataDir: join(dir.path, 'data-cm') });
    try {
      const cmPort = cm.ports.get('outbound')!;
      expect((await request(cmPort, '/version')).body).toBe('cm1');
      mkdirSync(join(mount, '..v2'));
      writeFileSync(join(mount, '..v2', 'bootstrap.yaml'), bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'cm2' })));
      symlinkSync('..v2', join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      await waitFor('the ConfigMap update to be served', async () => (await request(cmPort, '/version')).body === 'cm2');
      expect((await configDump(cm)).version).toBe(2);
    } finally {
      await cm.stop('SIGKILL');
    }
  }, 30_000);
});
