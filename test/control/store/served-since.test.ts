// The store remembers since when it serves each key (across reopen), and the
// translation uses it: of two VirtualServices for one host, the one served
// longest keeps the host, as the oldest does in Istio, so a VirtualService
// applied later cannot take a host from one already serving it. Folder
// re-reads that change nothing write nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigStore } from '../../../control/store/config-store.js';
import { readDirSnapshot } from '../../../control/store/dir-snapshot.js';
import { planDirSync } from '../../../control/store/plan-dir-sync.js';
import { createMeshConfig } from '../../../control/translate/mesh-config.js';

const V = 'apiVersion: networking.istio.io/v1beta1';
const vs = (name: string, subset = 'v1') =>
  `${V}\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: ${subset}}\n`;
const HOST = 'reviews.default.svc.cluster.local';

let root: string;
let cfg: string;
let store: ConfigStore;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'isthmus-served-since-'));
  cfg = join(root, 'config');
  mkdirSync(cfg);
  store = ConfigStore.open(join(root, 'data'));
});

afterEach(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

const usedFor = (s: ConfigStore): string | undefined => createMeshConfig(s.resources()).virtualServiceFor(HOST)?.metadata.name;

describe('servedSince', () => {
  it('keeps a host with the VirtualService served longest, through edits, a later apply and a reopen', async () => {
    writeFileSync(join(cfg, 'reviews.yaml'), vs('reviews'));
    await store.syncDirectory(await readDirSnapshot(cfg));
    const since = store.resource('VirtualService/default/reviews')?.source.servedSince;
    expect(since).toMatch(/^\d{4}-\d\d-\d\dT/);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const r = await store.apply(vs('aaa'));
    expect(r.results[0]).toMatchObject({ key: 'VirtualService/default/aaa', outcome: 'created' });
    expect(r.results[0]!.findings?.[0]).toContain('is also routed by VirtualService default/reviews (');
    expect(r.results[0]!.findings?.[0]).toContain('which is used for it; this VirtualService is ignored for that host (IST0109');
    expect(usedFor(store)).toBe('reviews');

    // An edit keeps the key's age; a re-read that changes nothing writes nothing.
    writeFileSync(join(cfg, 'reviews.yaml'), vs('reviews', 'v2'));
    await store.syncDirectory(await readDirSnapshot(cfg));
    expect(store.resource('VirtualService/default/reviews')?.source.servedSince).toBe(since);
    const key = 'VirtualService/default/reviews';
    expect(planDirSync(new Map([[key, store.record(key)!]]), await readDirSnapshot(cfg)).updates.size).toBe(0);
    expect(usedFor(store)).toBe('reviews');

    await store.close();
    store = ConfigStore.open(join(root, 'data'));
    expect(store.resource('VirtualService/default/reviews')?.source.servedSince).toBe(since);
    expect(usedFor(store)).toBe('reviews');

    // Once the folder's VirtualService is gone, the applied one takes the host.
    rmSync(join(cfg, 'reviews.yaml'));
    await store.syncDirectory(await readDirSnapshot(cfg));
    expect(usedFor(store)).toBe('aaa');
  });
});
