import { describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import { MAX_SHARED_BODY_BYTES, Snapshot, sotwBody } from '../../../control/xds/snapshot.js';
import { encoderStats, ResourceError } from '../../../control/xds/resource-encoder.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { cluster, meshInput, meshSnapshot, routeConfig } from './xds-fixtures.js';

describe('Snapshot.consistent', () => {
  it('is empty for a complete mesh', () => {
    expect(meshSnapshot().consistent()).toEqual([]);
  });

  it('reports a route to a missing cluster, an EDS cluster without endpoints, a listener without its route', () => {
    const input = meshInput();
    const snapshot = new Snapshot({
      ...input,
      [TYPE_URL.CLUSTER]: { version: 'c', resources: [cluster('a'), cluster('b'), cluster('c')] },
      [TYPE_URL.ROUTE]: { version: 'r', resources: [routeConfig('r2', ['a', 'ghost'])] },
    });
    expect(snapshot.consistent()).toEqual([
      'cluster "c" is EDS but no ClusterLoadAssignment "c" exists',
      'route configuration "r2" names cluster "ghost", which does not exist',
      'listener "l1" names route configuration "r1", which does not exist',
    ]);
  });
});

describe('SnapshotCache', () => {
  it('rejects an invalid snapshot before storing or notifying anything', () => {
    const cache = new SnapshotCache();
    let notified = 0;
    cache.watch('n1', () => notified++);
    const bad = new Snapshot({
      ...meshInput(),
      [TYPE_URL.CLUSTER]: { version: 'c2', resources: [cluster('a'), { ...cluster('b'), colour: 'red' }] },
    });
    expect(() => cache.setSnapshot('n1', bad)).toThrow(ResourceError);
    expect(() => cache.setSnapshot('n1', bad)).toThrow('Cluster "b": field colour: unknown field of envoy.config.cluster.v3.Cluster');
    expect(cache.getSnapshot('n1')).toBeUndefined();
    expect(notified).toBe(0);
  });

  it('notifies watchers, stops after unwatch, and clears', () => {
    const cache = new SnapshotCache();
    const seen: Snapshot[] = [];
    const unwatch = cache.watch('n1', (snapshot) => seen.push(snapshot));
    const first = meshSnapshot();
    cache.setSnapshot('n1', first);
    cache.setSnapshot('n2', meshSnapshot());
    unwatch();
    cache.setSnapshot('n1', meshSnapshot({ eds: 'e2' }));
    expect(seen).toEqual([first]);
    expect(cache.watcherCount('n1')).toBe(0);
    cache.clearSnapshot('n1');
    expect(cache.getSnapshot('n1')).toBeUndefined();
    expect(cache.nodeIds()).toEqual(['n2']);
  });

  it('encodes one snapshot once for many nodes, and reuses unchanged types of the next one', () => {
    const cache = new SnapshotCache();
    const before = encoderStats.resourcesEncoded;
    const snapshot = meshSnapshot();
    for (let i = 0; i < 20; i++) cache.setSnapshot(`n${i}`, snapshot);
    expect(encoderStats.resourcesEncoded - before).toBe(6); // 2 clusters, 2 assignments, 1 listener, 1 route
    const next = meshSnapshot({ eds: 'e2' }, 9100);
    cache.setSnapshot('n0', next);
    expect(encoderStats.resourcesEncoded - before).toBe(8); // only the two assignments again
    expect(next.encodedType(TYPE_URL.CLUSTER)).toBe(snapshot.encodedType(TYPE_URL.CLUSTER));
  });
});

describe('sotwBody memo', () => {
  it('keeps at most MAX_SHARED_BODY_BYTES of bodies per type, however many name sets proxies ask for', () => {
    // 100 clusters of ~20 KB each; 100 subsets of 99 names are ~2 MB each: 200 MB if all were kept.
    const resources = Array.from({ length: 100 }, (_, i) => ({ ...cluster(`c${i}`), alt_stat_name: 'x'.repeat(20_000) }));
    const snapshot = new Snapshot({ [TYPE_URL.CLUSTER]: { version: 'v', resources } });
    snapshot.encode();
    const type = snapshot.encodedType(TYPE_URL.CLUSTER)!;
    for (let skip = 0; skip < 100; skip++) {
      const names = new Set(resources.map((r) => r.name).filter((_, i) => i !== skip));
      const body = sotwBody(type, names);
      expect(body.length).toBeGreaterThan(99 * 20_000); // every response still gets its whole body
    }
    let kept = 0;
    for (const body of type.sotwBodies.values()) kept += body.length;
    expect(kept).toBeLessThanOrEqual(MAX_SHARED_BODY_BYTES);
    expect(type.sotwBodies.size).toBeLessThan(10);
  });
});
