import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DirectResponseAction, RedirectAction } from '../../src/config/bootstrap-types.js';
import { loadBootstrapFile } from '../../src/config/parse-bootstrap.js';
import { RouteTable, redirectLocation, type RequestView } from '../../src/routing/route-table.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/bootstrap.yaml', import.meta.url));

function req(path: string, opts: Partial<RequestView> = {}): RequestView {
  return { method: 'GET', path, query: '', authority: 'reviews:9080', headers: [], ...opts };
}

describe('examples/bootstrap.yaml', () => {
  it('parses: one listener on 127.0.0.1:15001, clusters on loopback', async () => {
    const b = await loadBootstrapFile(EXAMPLE);
    expect(b.listeners.map((l) => [l.name, l.address])).toEqual([['outbound', { address: '127.0.0.1', port: 15001 }]]);
    expect(b.admin).toEqual({ address: '127.0.0.1', port: 15000 });
    expect(b.clusters.map((c) => c.name)).toEqual(['reviews-v1', 'reviews-v2']);
    expect(b.clusters.flatMap((c) => c.endpoints.map((e) => e.address))).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1']);
    expect(b.clusters[1]!.lbPolicy).toBe('LEAST_REQUEST');
  });

  it('routes the documented requests', async () => {
    const table = RouteTable.compile((await loadBootstrapFile(EXAMPLE)).listeners[0]!.routeConfig);
    expect(table.match(req('/', { headers: ['x-version', 'v2'] }))!.pickCluster(0)).toBe('reviews-v2');
    expect((table.match(req('/healthz'))!.route.action as DirectResponseAction).body).toBe('ok\n');
    const old = table.match(req('/V0/ratings', { query: 'id=1' }))!;
    expect(redirectLocation(old.route.action as RedirectAction, req('/V0/ratings', { query: 'id=1' }), 'http'))
      .toBe('http://reviews:9080/api/ratings?id=1');
    expect(table.match(req('/debug/vars'))!.route.name).toBe('default');
    expect(table.match(req('/debug/vars', { query: 'token=x' }))!.route.name).toBe('debug-only');
    const api = table.match(req('/api/reviews/1', { authority: 'localhost:15001' }))!;
    expect([api.pickCluster(0.79), api.pickCluster(0.8)]).toEqual(['reviews-v1', 'reviews-v2']);
    expect(api.responseHeadersToRemove).toEqual(['server']);
    expect(api.requestHeadersToAdd).toEqual([{ key: 'x-mesh', value: 'isthmus', append: true }]);
    expect(api.responseHeadersToAdd).toEqual([{ key: 'x-served-by', value: 'isthmus', append: false }]);
  });
});
