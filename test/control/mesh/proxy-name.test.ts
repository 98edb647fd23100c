// Naming a proxy on the command line: its short name, full node id, or a unique prefix.
import { describe, expect, it } from 'vitest';
import { matchProxy, shortName } from '../../../control/mesh/proxy-name.js';
import { buildNode, stableInstance } from '../../../src/xds/xds-node.js';

const id = (workload: string) => `sidecar~127.0.0.1~${workload}.default~default.svc.cluster.local`;
const IDS = [id('reviews-1a2b3c4d5e'), id('reviews-9f8e7d6c5b'), id('productpage-0011223344'), 'grpc-client-7'];

describe('matchProxy', () => {
  it('takes a short name, a full id or a unique prefix of either', () => {
    expect(shortName(IDS[0]!)).toBe('reviews-1a2b3c4d5e.default');
    expect(matchProxy(IDS, 'reviews-1a2b3c4d5e.default')).toEqual({ ok: true, id: IDS[0] });
    expect(matchProxy(IDS, IDS[1]!)).toEqual({ ok: true, id: IDS[1] });
    expect(matchProxy(IDS, 'product')).toEqual({ ok: true, id: IDS[2] });
    expect(matchProxy(IDS, 'reviews-9')).toEqual({ ok: true, id: IDS[1] });
    expect(matchProxy(IDS, 'grpc')).toEqual({ ok: true, id: 'grpc-client-7' });
  });

  it('lists the candidates of an ambiguous prefix, and the connected proxies when nothing matches', () => {
    const ambiguous = matchProxy(IDS, 'rev');
    expect(ambiguous.ok).toBe(false);
    expect(!ambiguous.ok && ambiguous.message).toBe([
      '"rev" matches 2 proxies; give more of the name:',
      `  reviews-1a2b3c4d5e.default  (${IDS[0]})`,
      `  reviews-9f8e7d6c5b.default  (${IDS[1]})`,
    ].join('\n'));
    const none = matchProxy(IDS, 'ratings');
    expect(!none.ok && none.message).toBe('no connected proxy matches "ratings" (connected: grpc-client-7, productpage-0011223344.default, reviews-1a2b3c4d5e.default, reviews-9f8e7d6c5b.default)');
  });
});

describe('a sidecar\'s node id', () => {
  it('is the same across restarts with one data dir, and differs between data dirs', () => {
    const workload = { service: 'reviews', namespace: 'default', version: '', labels: {}, address: '127.0.0.1', appPort: 9080 };
    const a = buildNode(workload, stableInstance('/var/lib/isthmus/reviews')).id;
    expect(buildNode(workload, stableInstance('/var/lib/isthmus/reviews')).id).toBe(a);
    expect(buildNode(workload, stableInstance('/var/lib/isthmus/reviews-2')).id).not.toBe(a);
    expect(a).toMatch(/^sidecar~127\.0\.0\.1~reviews-[0-9a-f]{10}\.default~default\.svc\.cluster\.local$/);
  });
});
