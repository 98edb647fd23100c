// The config store over a real LMDB environment in a temp dir: the folder
// source, the apply source and their precedence, statuses, persistence
// across reopen, and change announcements.
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VirtualService } from '../../../control/config/istio-types.js';
import { ConfigStore, type ConfigChange } from '../../../control/store/config-store.js';
import { emptyDirSnapshot, readDirSnapshot } from '../../../control/store/dir-snapshot.js';

const V = 'apiVersion: networking.istio.io/v1beta1';
const se = (name: string) => `${V}\nkind: ServiceEntry\nmetadata: {name: ${name}}\nspec:\n  hosts: [${name}]\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n`;
const dr = (name: string, subsets = 'v1') =>
  `${V}\nkind: DestinationRule\nmetadata: {name: ${name}}\nspec:\n  host: ${name}\n  subsets: [${subsets.split(',').map((s) => `{name: ${s}, labels: {version: ${s}}}`).join(', ')}]\n`;
const vs = (name: string, subset = 'v1') =>
  `${V}\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [${name}]\n  http:\n  - route:\n    - destination: {host: ${name}, subset: ${subset}}\n`;

let root: string;
let cfg: string;
let store: ConfigStore;
let changes: ConfigChange[];

function openStore(): ConfigStore {
  const s = ConfigStore.open(join(root, 'data'));
  s.subscribe((c) => changes.push(c));
  return s;
}

async function sync(): Promise<void> {
  await store.syncDirectory(await readDirSnapshot(cfg));
}

function status(key: string) {
  return store.statuses().find((s) => s.key === key);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'isthmus-config-store-'));
  cfg = join(root, 'config');
  mkdirSync(cfg);
  changes = [];
  store = openStore();
});

afterEach(async () => {
  await store.close();
  rmSync(root, { recursive: true, force: true });
});

describe('folder source', () => {
  it('accepts clean files and rejects every resource of a file with problems, with file:line reasons', async () => {
    writeFileSync(join(cfg, 'a-reviews.yaml'), `${se('reviews')}---\n${dr('reviews')}`);
    writeFileSync(join(cfg, 'b-bad.yaml'), `${se('ratings')}---\n${vs('ratings').replace('hosts:', 'hostz:')}`);
    await sync();
    expect(status('ServiceEntry/default/reviews')).toMatchObject({ status: 'accepted', source: `dir:${join(cfg, 'a-reviews.yaml')}`, serving: 'current' });
    expect(status('DestinationRule/default/reviews')).toMatchObject({ status: 'accepted', location: `${join(cfg, 'a-reviews.yaml')}:8` });
    const bad = join(cfg, 'b-bad.yaml');
    for (const key of ['ServiceEntry/default/ratings', 'VirtualService/default/ratings']) {
      expect(status(key)).toMatchObject({ status: 'rejected', serving: 'none', source: `dir:${bad}` });
      expect(status(key)!.reason).toContain(`${bad}:12: spec.hostz is not supported`);
    }
    expect(store.resources().map((r) => `${r.kind}/${r.metadata.name}`)).toEqual(['DestinationRule/reviews', 'ServiceEntry/reviews']);
    expect(changes).toEqual([{ revision: 1, keys: new Set(['DestinationRule/default/reviews', 'ServiceEntry/default/reviews']) }]);
  });

  it('keeps serving the last accepted version when a file turns bad, and removes resources deleted from the folder', async () => {
    writeFileSync(join(cfg, 'vs.yaml'), `${se('reviews')}---\n${dr('reviews', 'v1,v2')}---\n${vs('reviews')}`);
    await sync();
    writeFileSync(join(cfg, 'vs.yaml'), `${se('reviews')}---\n${dr('reviews', 'v1,v2')}---\n${vs('reviews', 'v2')}  bogus: 1\n`);
    await sync();
    const st = status('VirtualService/default/reviews')!;
    expect(st).toMatchObject({ status: 'rejected', serving: 'last-accepted' });
    expect(st.reason).toBe(`${join(cfg, 'vs.yaml')}:23: spec.bogus is not supported`);
    const served = store.resource('VirtualService/default/reviews') as VirtualService;
    expect(served.spec.http[0]!.route[0]!.destination.subset).toBe('v1');
    expect(changes.length).toBe(1); // the bad edit left the served set as it was

    // A syntax error hides which documents the file holds: its previous keys are all rejected, none dropped.
    writeFileSync(join(cfg, 'vs.yaml'), 'kind: [unclosed\n');
    await sync();
    expect(store.statuses().map((s) => [s.key, s.status, s.serving])).toEqual([
      ['DestinationRule/default/reviews', 'rejected', 'last-accepted'],
      ['ServiceEntry/default/reviews', 'rejected', 'last-accepted'],
      ['VirtualService/default/reviews', 'rejected', 'last-accepted'],
    ]);
    expect(changes.length).toBe(1);

    writeFileSync(join(cfg, 'vs.yaml'), se('reviews'));
    await sync();
    expect(store.statuses().map((s) => s.key)).toEqual(['ServiceEntry/default/reviews']);
    expect(changes[1]).toEqual({ revision: 2, keys: new Set(['DestinationRule/default/reviews', 'VirtualService/default/reviews']) });

    unlinkSync(join(cfg, 'vs.yaml'));
    await sync();
    expect(store.statuses()).toEqual([]);
    expect(changes[2]!.keys).toEqual(new Set(['ServiceEntry/default/reviews']));
  });

  it('announces nothing when a rewrite leaves every resource the same, even when lines move', async () => {
    writeFileSync(join(cfg, 'se.yaml'), se('reviews'));
    await sync();
    writeFileSync(join(cfg, 'se.yaml'), `# a comment moves every line\n\n${se('reviews')}`);
    await sync();
    expect(changes.length).toBe(1);
    expect(status('ServiceEntry/default/reviews')!.location).toBe(`${join(cfg, 'se.yaml')}:3`);
  });

  it('reports analyze findings as warnings without rejecting, and a key defined twice once', async () => {
    writeFileSync(join(cfg, 'a.yaml'), `${se('reviews')}---\n${vs('reviews', 'v9')}`);
    writeFileSync(join(cfg, 'b.yaml'), se('reviews'));
    await sync();
    const st = status('VirtualService/default/reviews')!;
    expect(st.status).toBe('accepted');
    expect(st.warnings).toEqual([`${join(cfg, 'a.yaml')}:15: spec.http[0].route[0].destination.subset "v9" is not defined: no DestinationRule has host reviews.default.svc.cluster.local`]);
    expect(status('ServiceEntry/default/reviews')!.warnings).toEqual([
      `${join(cfg, 'b.yaml')}:1: ServiceEntry/default/reviews is also defined at ${join(cfg, 'a.yaml')}:1; this definition is ignored`,
    ]);
  });

  it('names a file whose documents name no resource, and keeps everything when the folder cannot be read', async () => {
    writeFileSync(join(cfg, 'a.yaml'), se('reviews'));
    writeFileSync(join(cfg, 'junk.yaml'), '- just\n- a list\n');
    await sync();
    expect(store.fileProblems()).toEqual([{ source: `dir:${join(cfg, 'junk.yaml')}`, reason: expect.stringContaining('junk.yaml:1: each document must be a map') }]);
    rmSync(cfg, { recursive: true });
    await sync();
    expect(status('ServiceEntry/default/reviews')).toMatchObject({ status: 'rejected', serving: 'last-accepted', reason: `${cfg}: cannot read the folder: ENOENT` });
    expect(store.resources().length).toBe(1);
    expect(changes.length).toBe(1);
  });
});

describe('apply source', () => {
  it('creates, configures, reports unchanged, and deletes; the applied version shadows the folder', async () => {
    writeFileSync(join(cfg, 'vs.yaml'), vs('reviews'));
    await sync();
    let r = await store.apply(`${se('reviews')}---\n${vs('reviews', 'v2')}`);
    expect(r.results).toEqual([
      { key: 'ServiceEntry/default/reviews', outcome: 'created' },
      {
        key: 'VirtualService/default/reviews', outcome: 'configured',
        // What analyze finds about the applied resource comes back with it (isthmus apply prints it).
        findings: ['api:VirtualService/default/reviews:15: spec.http[0].route[0].destination.subset "v2" is not defined: no DestinationRule has host reviews.default.svc.cluster.local'],
      },
    ]);
    expect(r.rejected).toBe(false);
    expect(changes.at(-1)).toEqual({ revision: 2, keys: new Set(['ServiceEntry/default/reviews', 'VirtualService/default/reviews']) });
    expect(status('VirtualService/default/reviews')).toMatchObject({
      source: 'api', status: 'accepted', location: 'api:VirtualService/default/reviews:8',
      shadowed: { source: `dir:${join(cfg, 'vs.yaml')}`, status: 'accepted' },
    });
    r = await store.apply(se('reviews'));
    expect(r.results).toEqual([{ key: 'ServiceEntry/default/reviews', outcome: 'unchanged' }]);
    expect(changes.length).toBe(2);

    // A folder edit of a shadowed key is recorded but does not change what is served.
    writeFileSync(join(cfg, 'vs.yaml'), vs('reviews', 'v3'));
    await sync();
    expect(changes.length).toBe(2);

    r = await store.delete(`${vs('reviews')}---\n${se('reviews')}`);
    expect(r.results).toEqual([
      { key: 'VirtualService/default/reviews', outcome: 'deleted', reason: `the watched config folder's definition (${join(cfg, 'vs.yaml')}:1) applies again` },
      { key: 'ServiceEntry/default/reviews', outcome: 'deleted' },
    ]);
    expect(status('VirtualService/default/reviews')).toMatchObject({ source: `dir:${join(cfg, 'vs.yaml')}`, status: 'accepted' });
    expect(status('ServiceEntry/default/reviews')).toBeUndefined();
    expect(changes.at(-1)).toEqual({ revision: 3, keys: new Set(['VirtualService/default/reviews', 'ServiceEntry/default/reviews']) });
  });

  it('rejects a request with a bad document as a whole, with apply:LINE reasons, and changes nothing', async () => {
    await store.apply(se('reviews'));
    const before = store.statuses();
    const r = await store.apply(`${se('ratings')}---\n${vs('reviews').replace('subset: v1', 'subsetz: v1')}`);
    expect(r.rejected).toBe(true);
    expect(r.results).toEqual([
      { key: 'ServiceEntry/default/ratings', outcome: 'rejected', reason: 'not applied: the request had rejected documents (apply:8)' },
      { key: 'VirtualService/default/reviews', outcome: 'rejected', reason: 'apply:15: spec.http[0].route[0].destination.subsetz is not supported; did you mean \'subset\'?' },
    ]);
    expect(store.statuses()).toEqual(before);
    expect(changes.length).toBe(1);
    expect((await store.apply('kind: [\n')).results[0]).toMatchObject({ key: 'document 1 (apply:1)', outcome: 'rejected' });
    expect((await store.apply('# nothing\n')).results).toEqual([{ key: 'request', outcome: 'rejected', reason: 'apply: contains no resources' }]);
    expect((await store.apply(`${se('a')}---\n${se('a')}`)).results[1]).toEqual({
      key: 'ServiceEntry/default/a', outcome: 'rejected', reason: 'apply:8: ServiceEntry/default/a is also defined at apply:1',
    });
    expect(store.counters).toMatchObject({ applies: 5, appliesRejected: 4 });
  });

  it('refuses to delete what only the folder defines, or what does not exist, changing nothing', async () => {
    writeFileSync(join(cfg, 'se.yaml'), se('reviews'));
    await sync();
    await store.apply(se('ratings'));
    const r = await store.delete(`${se('ratings')}---\n${se('reviews')}---\n${se('nope')}`);
    expect(r.results.map((x) => [x.key, x.outcome, x.reason])).toEqual([
      ['ServiceEntry/default/ratings', 'rejected', 'not applied: the request had rejected documents (apply:8, apply:15)'],
      ['ServiceEntry/default/reviews', 'rejected', `apply:8: ServiceEntry/default/reviews is defined in the watched config folder (${join(cfg, 'se.yaml')}:1); remove it there`],
      ['ServiceEntry/default/nope', 'rejected', 'apply:15: ServiceEntry/default/nope not found'],
    ]);
    expect(store.resource('ServiceEntry/default/ratings')).toBeDefined();
  });
});

describe('persistence', () => {
  it('keeps records and the revision across reopen; an empty folder read drops the folder layer only', async () => {
    writeFileSync(join(cfg, 'se.yaml'), se('reviews'));
    await sync();
    await store.apply(vs('reviews'));
    await store.close();
    store = openStore();
    expect(store.revision()).toBe(2);
    expect(store.resources().map((r) => r.kind)).toEqual(['ServiceEntry', 'VirtualService']);
    expect(Object.isFrozen(store.resource('VirtualService/default/reviews'))).toBe(true);
    await store.syncDirectory(emptyDirSnapshot());
    expect(store.resources().map((r) => r.kind)).toEqual(['VirtualService']);
    expect(changes.at(-1)).toEqual({ revision: 3, keys: new Set(['ServiceEntry/default/reviews']) });
  });
});
