// The config folder watcher over a real folder and a real LMDB store: a
// burst of edits is read once after the folder goes quiet, and the store
// ends up with the last state of the folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ServiceEntry } from '../../../control/config/istio-types.js';
import { watchConfigDir, type ConfigDirWatcher } from '../../../control/store/config-dir-watcher.js';
import { ConfigStore } from '../../../control/store/config-store.js';
import { createLogger } from '../../../src/log.js';

const se = (name: string, port: number) =>
  `apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: ${name}}\nspec:\n  hosts: [${name}]\n  ports: [{number: ${port}, name: http, protocol: HTTP}]\n`;

let root: string;
let store: ConfigStore;
let watcher: ConfigDirWatcher | null = null;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'isthmus-dir-watcher-'));
  mkdirSync(join(root, 'config'));
  store = ConfigStore.open(join(root, 'data'));
});
afterEach(async () => {
  watcher?.close();
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

it('reads the folder at start, then once per burst of edits, ending on the folder\'s last state', async () => {
  const dir = join(root, 'config');
  writeFileSync(join(dir, 'a.yaml'), se('a', 1));
  watcher = await watchConfigDir(dir, store, createLogger('test', 'silent'));
  expect(store.counters.dirSyncs).toBe(1);
  expect(store.resources().map((r) => r.metadata.name)).toEqual(['a']);

  const revisions: number[] = [];
  store.subscribe((c) => revisions.push(c.revision));
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, 'b.yaml'), se('b', 1000 + i)); // one burst, well under 100 ms
  const deadline = Date.now() + 5000;
  while (store.counters.dirSyncs < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await watcher.settled();
  expect(store.counters.dirSyncs).toBe(2);
  expect(revisions).toEqual([2]);
  const b = store.resource('ServiceEntry/default/b') as ServiceEntry;
  expect(b.spec.ports[0]!.number).toBe(1019);
});
