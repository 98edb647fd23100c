// The xds scenario's figures from raw stamps, and the revision marker a client finds inside a RouteConfiguration.
import { describe, expect, it } from 'vitest';
import { loadXdsProtos } from '../../src/xds/xds-protos.js';
import { convergenceOf, findRevision, medianOfChanges, percentile, revisionMarker } from '../../bench/xds-convergence.js';
import { virtualServiceYaml } from '../../bench/xds-mesh-config.js';

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('convergenceOf', () => {
  it('measures each ACK from the change and reports when the last client ACKed', () => {
    const c = convergenceOf(1000, [1100, 1300, 1200, 1050]);
    expect(c).toMatchObject({ clients: 4, acked: 4, p50_ms: 100, p90_ms: 300, p99_ms: 300, max_ms: 300, all_acked_ms: 300 });
  });

  it('counts a client that never ACKed as missing: no "all acked" figure', () => {
    const c = convergenceOf(0, [10, NaN, 30]);
    expect(c.acked).toBe(2);
    expect(c.max_ms).toBe(30);
    expect(c.all_acked_ms).toBeNaN();
  });

  it('clamps an ACK stamped before the change to 0', () => {
    expect(convergenceOf(500, [499.5, 600]).p50_ms).toBe(0);
  });
});

describe('medianOfChanges', () => {
  it('takes the median of each figure and the fewest ACKs', () => {
    const m = medianOfChanges([convergenceOf(0, [100, 200]), convergenceOf(0, [300, 900]), convergenceOf(0, [50, 400])]);
    expect(m.max_ms).toBe(400);
    expect(m.p50_ms).toBe(100);
    expect(m.all_acked_ms).toBe(400);
    expect(m.acked).toBe(2);
  });

  it('has no all-acked median when one change left a client behind', () => {
    const m = medianOfChanges([convergenceOf(0, [100, 200]), convergenceOf(0, [300, NaN])]);
    expect(m.all_acked_ms).toBeNaN();
    expect(m.acked).toBe(1);
  });

  it('refuses an empty list', () => {
    expect(() => medianOfChanges([])).toThrow(/no changes/);
  });
});

describe('findRevision', () => {
  it('finds the marker inside an encoded RouteConfiguration, and 0 when there is none', () => {
    const type = loadXdsProtos().messageType('envoy.config.route.v3.RouteConfiguration')!;
    const encode = (value: string): Uint8Array => type.serialize({
      name: '9080',
      virtual_hosts: [{
        name: 'reviews', domains: ['reviews'],
        routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, request_headers_to_add: [{ header: { key: 'x-bench-revision', value } }] }],
      }],
    });
    expect(findRevision(encode(revisionMarker(42)))).toBe(42);
    expect(findRevision(encode('something else'))).toBe(0);
    expect(findRevision(encode(`${revisionMarker(3)} ${revisionMarker(12)}`))).toBe(12);
    expect(findRevision(Buffer.from('isthmus-bench-rev-12'))).toBe(0); // truncated: not six digits
  });

  it('is what the VirtualService of each revision carries', () => {
    expect(virtualServiceYaml(7)).toContain(revisionMarker(7));
    expect(virtualServiceYaml(7)).not.toEqual(virtualServiceYaml(8));
  });
});
