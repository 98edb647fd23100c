// The ADS server tells an authenticator which kind of port a stream came in
// on. Only a port it bound as plaintext counts as plaintext: a port it does
// not know (here one bound behind its back) counts as TLS and is asked for
// proof, so a gap in its bookkeeping refuses rather than trusts.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../../control/xds/ads-server.js';
import { StreamRefused, TRANSPORT_METADATA } from '../../../control/xds/ads-stream.js';
import { SnapshotCache } from '../../../control/xds/snapshot-cache.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { createLogger } from '../../../src/log.js';
import { node, sotwClient, type SotwClient } from './ads-test-client.js';

let ads: AdsServer;
const clients: SotwClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await ads.close();
});

describe('the port kind an authenticator sees', () => {
  it('is plaintext only on a port the server bound as plaintext; any other port is asked for proof', async () => {
    ads = createAdsServer(new SnapshotCache(), {}, {
      logger: createLogger('xds-test', 'silent'),
      authenticate: (n, call) => {
        if (call.metadata.get(TRANSPORT_METADATA)[0] !== 'plaintext') throw new StreamRefused(grpc.status.UNAUTHENTICATED, 'proof needed');
        return n;
      },
    });
    const known = await ads.listen('127.0.0.1', 0);
    const unknown = await new Promise<number>((resolve, reject) => {
      ads.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err)));
    });
    const send = (port: number, id: string): SotwClient => {
      // The client's own claim of the port kind is replaced by the server's.
      const c = sotwClient(port, { metadata: { [TRANSPORT_METADATA]: 'plaintext' } });
      clients.push(c);
      c.send({ node: node(id), type_url: TYPE_URL.CLUSTER, resource_names: [], version_info: '', response_nonce: '' });
      return c;
    };
    const onKnown = send(known, 'on-known');
    const onUnknown = send(unknown, 'on-unknown');
    const refused = await onUnknown.ended(10_000);
    expect(refused.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(ads.status().map((s) => s.node.id)).toEqual(['on-known']);
    expect(await onKnown.quiet(100)).toBe(true); // no snapshot for it: served, not ended
    expect(onKnown.status).toBeUndefined();
  }, 20_000);
});
