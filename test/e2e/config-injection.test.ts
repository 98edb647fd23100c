// CR/LF in config never reaches a head: a bootstrap reload and an xDS route
// whose host_rewrite_literal, prefix_rewrite or redirect fields carry
// "\r\nx-injected: 1" are refused (the reload with file:line:path, the xDS
// update with a NACK naming the resource and field), and the upstream's
// request head and the client's Location keep the lines the last good
// config produced, with no header line the config's author smuggled in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdsServer, type AdsServer } from '../../control/xds/ads-server.js';
import { SnapshotCache } from '../../control/xds/snapshot-cache.js';
import { Snapshot } from '../../control/xds/snapshot.js';
import { createLogger } from '../../src/log.js';
import { TYPE_URL } from '../../src/xds/xds-protos.js';
import { cluster, endpoints, listener } from '../control/xds/xds-fixtures.js';
import {
  bootstrapWith, bootstrapYaml, configDump, replaceFile, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream,
} from './harness.js';

const INJECTED = '\r\nx-injected: 1';

/** Routes: /api/* forwarded with a host and prefix rewrite, /old/* redirected. */
function routes(host: string, prefix: string, redirectHost: string): Record<string, unknown> {
  return {
    virtual_hosts: [{
      name: 'all',
      domains: ['*'],
      routes: [
        { match: { prefix: '/old/' }, redirect: { host_redirect: redirectHost, prefix_rewrite: prefix } },
        { match: { prefix: '/api/' }, route: { cluster: 'backend', host_rewrite_literal: host, prefix_rewrite: prefix } },
      ],
    }],
  };
}

let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  await upstream?.close();
});

describe('header injection from config', () => {
  let proxy: RunningProxy;
  afterAll(async () => {
    await proxy?.stop('SIGKILL');
  });

  it('a bootstrap with CR/LF in rewrites and redirects is refused; heads keep the last good values', async () => {
    const clusters = [{ name: 'backend', ports: [upstream.port] }];
    proxy = await startProxy({ bootstrap: bootstrapWith(routes('good.test', '/v2/', 'new.test'), clusters) });
    const before = await configDump(proxy);
    const bad = bootstrapYaml(bootstrapWith(routes(`evil.test${INJECTED}`, `/v2/${INJECTED}`, `new.test${INJECTED}`), clusters));
    const hostLine = bad.split('\n').findIndex((l) => l.includes('host_rewrite_literal')) + 1;
    replaceFile(proxy.bootstrapPath, bad);
    const dump = await waitFor('the rejection', async () => {
      const d = await configDump(proxy);
      return d.configRejectedTotal === 1 ? d : undefined;
    });
    expect(dump.version).toBe(before.version);
    const problems = dump.lastRejected?.problems.join('\n') ?? '';
    expect(problems).toContain(`bootstrap.yaml:${hostLine}: virtual host "all" › routes[1].route.host_rewrite_literal must be printable ASCII`);
    expect(problems).toContain('routes[1].route.prefix_rewrite must be printable ASCII');
    expect(problems).toContain('routes[0].redirect.host_redirect must be printable ASCII');
    expect(problems).toContain('routes[0].redirect.prefix_rewrite must be printable ASCII');

    const forwarded = await request(proxy.port, '/api/items?x=1');
    expect(forwarded.status).toBe(200);
    const seen = upstream.seen.at(-1)!;
    expect(seen.url).toBe('/v2/items?x=1');
    expect(seen.headers.host).toBe('good.test');
    expect(seen.headers['x-injected']).toBeUndefined();

    const redirected = await request(proxy.port, '/old/page');
    expect(redirected.status).toBe(301);
    expect(redirected.headers.location).toBe('http://new.test/v2/page');
    expect(redirected.headers['x-injected']).toBeUndefined();
  }, 30_000);
});

describe('header injection over xDS', () => {
  let ads: AdsServer;
  let cache: SnapshotCache;
  let proxy: RunningProxy;
  let bad = false;

  function snapshot(): Snapshot {
    const routeConfig = bad ? routes(`evil.test${INJECTED}`, '/v2/', 'new.test') : routes('good.test', '/v2/', 'new.test');
    return new Snapshot({
      [TYPE_URL.CLUSTER]: { version: 'c1', resources: [cluster('backend')] },
      [TYPE_URL.ENDPOINT]: { version: 'e1', resources: [endpoints('backend', [upstream.port])] },
      [TYPE_URL.LISTENER]: { version: 'l1', resources: [listener('xds-outbound', 0, 'r1')] },
      [TYPE_URL.ROUTE]: { version: bad ? 'r-bad' : 'r1', resources: [{ name: 'r1', ...routeConfig }] },
    });
  }

  beforeAll(async () => {
    cache = new SnapshotCache();
    ads = createAdsServer(cache, { onStreamOpen: (node) => cache.setSnapshot(node.id, snapshot()) }, { logger: createLogger('xds-injection', 'silent') });
    const port = await ads.listen('127.0.0.1', 0);
    proxy = await startProxy({ control: `127.0.0.1:${port}`, args: ['--service', 'web', '--outbound-port', '0'] });
    await waitFor('the xDS listener', async () => (await request(proxy.ports.get('xds-outbound') ?? proxy.port, '/api/a')).status === 200);
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop('SIGKILL');
    await ads?.close();
  });

  it('NACKs a route whose host_rewrite_literal holds CR/LF, naming the resource and field, and keeps the old route', async () => {
    const port = proxy.ports.get('xds-outbound')!;
    bad = true;
    for (const nodeId of cache.nodeIds()) cache.setSnapshot(nodeId, snapshot());
    const message = 'RouteConfiguration r1: virtual_hosts[0].routes[1].route.host_rewrite_literal must be printable ASCII with no spaces or control characters (it contains CR); percent-encode other characters';
    await waitFor('the NACK at the control plane', () =>
      ads.status().some((s) => s.types.some((t) => t.typeUrl === TYPE_URL.ROUTE && t.nackMessage === message)));
    const r = await request(port, '/api/items');
    expect(r.status).toBe(200);
    const seen = upstream.seen.at(-1)!;
    expect(seen.headers.host).toBe('good.test');
    expect(seen.headers['x-injected']).toBeUndefined();
  }, 30_000);
});
