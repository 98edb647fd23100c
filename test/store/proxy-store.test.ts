import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { KEPT_CONFIG_VERSIONS, ProxyStore } from '../../src/store/proxy-store.js';
import { expectedCluster, expectedEndpoint, ROUTER_ONLY } from '../support/bootstrap-defaults.js';

function bootstrapWithPort(port: number): Bootstrap {
  return {
    listeners: [
      {
        name: 'outbound',
        address: { address: '127.0.0.1', port },
        statPrefix: 'outbound',
        streamIdleTimeoutMs: 300000,
        requestHeadersTimeoutMs: 0,
        httpFilters: ROUTER_ONLY,
        routeConfig: {
          name: 'local',
          virtualHosts: [],
          requestHeadersToAdd: [],
          requestHeadersToRemove: [],
          responseHeadersToAdd: [],
          responseHeadersToRemove: [],
        },
      },
    ],
    clusters: [
      expectedCluster({ name: 'backend', endpoints: [expectedEndpoint('127.0.0.1', 9)] }),
    ],
  };
}

const dirs: string[] = [];
const stores: ProxyStore[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-store-'));
  dirs.push(dir);
  return dir;
}
function openStore(dir: string): ProxyStore {
  const store = ProxyStore.open(dir);
  stores.push(store);
  return store;
}

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('ProxyStore', () => {
  it('starts empty with active version 0', () => {
    const store = openStore(join(tempDir(), 'nested', 'data'));
    expect(store.activeVersion()).toBe(0);
    expect(store.readConfig(1)).toBeUndefined();
  });

  it('opens a data directory whose name has a dot in it (--service reviews.v1) as a directory', async () => {
    const dir = join(tempDir(), 'proxy-reviews.v1');
    const store = openStore(dir);
    expect(await store.writeConfig(bootstrapWithPort(1001))).toBe(1);
    expect(existsSync(join(dir, 'data.mdb'))).toBe(true);
  });

  it('numbers versions from 1, stores the bootstrap and makes it active', async () => {
    const store = openStore(tempDir());
    const v1 = await store.writeConfig(bootstrapWithPort(1001));
    const v2 = await store.writeConfig(bootstrapWithPort(1002));
    expect([v1, v2]).toEqual([1, 2]);
    expect(store.activeVersion()).toBe(2);
    expect(store.readConfig(1)?.listeners[0]?.address.port).toBe(1001);
    expect(store.readConfig(2)).toEqual(bootstrapWithPort(1002));
  });

  it('keeps only the last few versions', async () => {
    const store = openStore(tempDir());
    for (let i = 1; i <= KEPT_CONFIG_VERSIONS + 3; i++) await store.writeConfig(bootstrapWithPort(1000 + i));
    const last = KEPT_CONFIG_VERSIONS + 3;
    expect(store.storedVersions()).toEqual(Array.from({ length: KEPT_CONFIG_VERSIONS }, (_, i) => last - KEPT_CONFIG_VERSIONS + 1 + i));
    expect(store.readConfig(1)).toBeUndefined();
    expect(store.readConfig(last)?.listeners[0]?.address.port).toBe(1000 + last);
  });

  it('continues numbering after reopening the directory', async () => {
    const dir = tempDir();
    const first = ProxyStore.open(dir);
    await first.writeConfig(bootstrapWithPort(1));
    await first.writeConfig(bootstrapWithPort(2));
    await first.close();
    const second = openStore(dir);
    expect(second.activeVersion()).toBe(2);
    expect(await second.writeConfig(bootstrapWithPort(3))).toBe(3);
  });

  it('two instances, one in a worker thread, see each other\'s writes', async () => {
    // Worker threads cannot load .ts; they use the compiled store (npm test builds dist/ first).
    const compiled = new URL('../../dist/src/store/proxy-store.js', import.meta.url);
    expect(existsSync(compiled), 'run `npx tsc -p .` first').toBe(true);
    const dir = tempDir();
    const store = openStore(dir);
    await store.writeConfig(bootstrapWithPort(4001));

    const worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.module).then(({ ProxyStore }) => {
        const store = ProxyStore.open(workerData.dir);
        parentPort.on('message', async (msg) => {
          if (msg === 'read') {
            const v = store.activeVersion();
            parentPort.postMessage({ version: v, port: store.readConfig(v)?.listeners[0]?.address.port });
          } else if (msg === 'write') {
            const version = await store.writeConfig({ listeners: [], clusters: [] });
            parentPort.postMessage({ wrote: version });
          } else if (msg === 'close') {
            await store.close();
            parentPort.postMessage('closed');
          }
        });
        parentPort.postMessage('open');
      });
      `,
      { eval: true, workerData: { dir, module: compiled.href } },
    );
    const replies: unknown[] = [];
    const waiters: ((v: unknown) => void)[] = [];
    worker.on('message', (m) => (waiters.length > 0 ? waiters.shift()!(m) : replies.push(m)));
    const next = (): Promise<unknown> =>
      replies.length > 0 ? Promise.resolve(replies.shift()) : new Promise((resolve) => waiters.push(resolve));
    try {
      expect(await next()).toBe('open');
      worker.postMessage('read');
      expect(await next()).toEqual({ version: 1, port: 4001 });

      await store.writeConfig(bootstrapWithPort(4002));
      worker.postMessage('read');
      expect(await next()).toEqual({ version: 2, port: 4002 });

      worker.postMessage('write');
      expect(await next()).toEqual({ wrote: 3 });
      expect(store.activeVersion()).toBe(3);
      expect(store.readConfig(3)).toEqual({ listeners: [], clusters: [] });
      worker.postMessage('close');
      expect(await next()).toBe('closed');
    } finally {
      await worker.terminate();
    }
  });
});
