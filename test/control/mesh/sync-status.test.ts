import { describe, expect, it } from 'vitest';
import { buildSyncz, formatProxyStatus, syncState } from '../../../control/mesh/sync-status.js';
import type { StreamStatus } from '../../../control/xds/ads-stream.js';
import { TYPE_URL } from '../../../control/xds/protos.js';

const type = (typeUrl: string, sentVersion: string | null, ackedVersion: string | null, nackMessage: string | null = null) =>
  ({ typeUrl, sentVersion, ackedVersion, nackMessage, nonce: '1', subscribed: '*' as const });

describe('sync status', () => {
  it('is SYNCED when acked equals sent, STALE when a sent version is not acked yet, NACKED after a NACK, NOT_SENT before any response', () => {
    expect(syncState('a', 'a', null)).toBe('SYNCED');
    expect(syncState('b', 'a', null)).toBe('STALE');
    expect(syncState('b', null, null)).toBe('STALE');
    expect(syncState('b', 'a', 'bad route')).toBe('NACKED');
    expect(syncState(null, null, null)).toBe('NOT_SENT');
  });

  it('lists every stream with its proxy identity and prints istioctl\'s table with NACK messages below', () => {
    const streams: StreamStatus[] = [
      {
        streamId: 2, protocol: 'delta', peer: 'ipv4:127.0.0.1:5', connectedAt: 'now', node: { id: 'reviews-1', cluster: '', metadata: {} },
        types: [type(TYPE_URL.CLUSTER, 'c1', 'c1'), type(TYPE_URL.ROUTE, 'r2', 'r1', 'route outbound: bad weight')],
      },
      {
        streamId: 1, protocol: 'sotw', peer: 'ipv4:127.0.0.1:4', connectedAt: 'now', node: { id: 'productpage-1', cluster: '', metadata: {} },
        types: [type(TYPE_URL.CLUSTER, 'c1', 'c1'), type(TYPE_URL.ENDPOINT, 'e2', 'e1'), type(TYPE_URL.LISTENER, 'l1', 'l1'), type(TYPE_URL.ROUTE, 'r1', 'r1')],
      },
    ];
    const syncz = buildSyncz(streams, (id) => (id === 'productpage-1'
      ? { id, proxy: { id, namespace: 'default', service: 'productpage', labels: {} }, registered: true, problems: [], versions: new Map() }
      : undefined));
    expect(syncz.proxies.map((p) => [p.node, p.service, p.namespace, p.protocol])).toEqual([
      ['productpage-1', 'productpage', 'default', 'sotw'], ['reviews-1', null, null, 'delta'],
    ]);
    expect(syncz.proxies[0]!.types.eds).toEqual({ sent: 'e2', acked: 'e1', state: 'STALE', nackMessage: null });
    expect(formatProxyStatus(syncz)).toBe([
      'NAME            SERVICE               PROTOCOL   CDS      LDS        EDS        RDS',
      'productpage-1   productpage.default   sotw       SYNCED   SYNCED     STALE      SYNCED',
      'reviews-1       -                     delta      SYNCED   NOT_SENT   NOT_SENT   NACKED',
      'reviews-1 RDS NACK: route outbound: bad weight',
      '',
    ].join('\n'));
  });
});
