// Which filter chain each route of a listener ends up with, built once at
// compile time: the fault config (route over virtual host over the filter's
// own config, only when the filter is in the chain), the merged CORS policy
// (only with the CORS filter in the chain), mirror policies, in chain order,
// and null for a listener with nothing, so the request path runs no filter
// machinery.
import { describe, expect, it } from 'vitest';
import type {
  CorsPolicy, FaultConfig, Listener, RequestMirrorPolicy, Route, RouteAction, VirtualHost,
} from '../../src/config/bootstrap-types.js';
import { HttpFilterStats } from '../../workers/http-filter-stats.js';
import { compileListenerFilters, type RouteFilterChain } from '../../workers/route-filters.js';
import { CorsFilterFactory } from '../../workers/filters/cors/cors-filter.js';
import { FaultFilterFactory } from '../../workers/filters/fault/fault-filter.js';
import { MirrorFilterFactory } from '../../workers/filters/mirror/mirror-filter.js';

function faultOf(chain: RouteFilterChain | null): FaultFilterFactory | undefined {
  return chain?.find((f): f is FaultFilterFactory => f instanceof FaultFilterFactory);
}

function corsOf(chain: RouteFilterChain | null): CorsFilterFactory | undefined {
  return chain?.find((f): f is CorsFilterFactory => f instanceof CorsFilterFactory);
}

/** http_filters as read from config; without an explicit order, CORS before fault (as Istio lists them). */
type Filters = Omit<Listener['httpFilters'], 'order' | 'localRateLimit' | 'compressors'> & Partial<Pick<Listener['httpFilters'], 'localRateLimit' | 'compressors'>> & { order?: readonly string[] };

function withOrder(f: Filters): Listener['httpFilters'] {
  const order = f.order ?? [...(f.cors ? ['envoy.filters.http.cors'] : []), ...(f.fault !== null ? ['envoy.filters.http.fault'] : [])];
  return { localRateLimit: null, compressors: [], ...f, order };
}

const noMutation = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };

function action(mirrors: RequestMirrorPolicy[] = []): RouteAction {
  return {
    type: 'route', clusters: [{ name: 'backend', weight: 1 }], totalWeight: 1, timeoutMs: 15000, retryPolicy: null,
    prefixRewrite: null, hostRewriteLiteral: null, hashPolicy: [], requestMirrorPolicies: mirrors,
  };
}

function route(name: string, extra: Partial<Route> = {}): Route {
  return {
    name,
    match: { kind: 'prefix', value: '/', caseSensitive: true, headers: [], queryParameters: [] },
    action: action(),
    ...noMutation,
    fault: null,
    cors: null,
    localRateLimit: null,
    ...extra,
  };
}

function vhost(routes: Route[], extra: Partial<VirtualHost> = {}): VirtualHost {
  return { name: 'vh', domains: ['*'], routes, ...noMutation, fault: null, cors: null, localRateLimit: null, ...extra };
}

function listener(vhosts: VirtualHost[], httpFilters: Filters): Listener {
  return {
    name: 'outbound',
    address: { address: '127.0.0.1', port: 0 },
    statPrefix: 'outbound',
    routeConfig: { name: 'rc', virtualHosts: vhosts, ...noMutation },
    streamIdleTimeoutMs: 300000,
    requestHeadersTimeoutMs: 0,
    httpFilters: withOrder(httpFilters),
  };
}

const faultA: FaultConfig = { delay: null, abort: { httpStatus: 500, grpcStatus: null, headerAbort: false, percentage: 1 }, headers: [], maxActiveFaults: null };
const faultB: FaultConfig = { ...faultA, abort: { ...faultA.abort!, httpStatus: 503 } };
const faultC: FaultConfig = { ...faultA, abort: { ...faultA.abort!, httpStatus: 429 } };
const cors: CorsPolicy = {
  allowOriginStringMatch: [{ kind: 'exact', value: 'https://a.test', ignoreCase: false }],
  allowMethods: 'GET', allowHeaders: null, exposeHeaders: null, maxAge: null, allowCredentials: null,
  allowPrivateNetworkAccess: false, filterEnabled: 1,
};

describe('compileListenerFilters', () => {
  it('is null for a listener with no filter config and no mirrors (the v1 path)', () => {
    const stats = new HttpFilterStats();
    expect(compileListenerFilters(listener([vhost([route('r', { cors, fault: faultA })])], { fault: null, cors: false }), stats)).toBeNull();
    expect(stats.snapshot()).toEqual([]); // no counters for a listener without filters
  });

  it('leaves out what can never fire: a 0% fault without header control, a 0% mirror', () => {
    const zero: FaultConfig = { ...faultA, abort: { ...faultA.abort!, percentage: 0 } };
    const headerControlled: FaultConfig = { ...faultA, abort: { ...faultA.abort!, percentage: 0, headerAbort: true } };
    const idle = route('idle', { fault: zero, action: action([{ cluster: 'shadow', fraction: 0 }]) });
    const byHeader = route('by-header', { fault: headerControlled });
    const filters = compileListenerFilters(listener([vhost([idle, byHeader])], { fault: zero, cors: false }), new HttpFilterStats())!;
    expect(filters.forRoute(idle)).toBeNull(); // the request takes v1's path
    expect(faultOf(filters.forRoute(byHeader))!.fault.config).toBe(headerControlled);
  });

  it('resolves the fault config: route over virtual host over the filter config', () => {
    const own = route('own', { fault: faultC });
    const inherits = route('inherits');
    const plain = route('plain');
    const l = listener(
      [vhost([own, inherits], { name: 'vh1', fault: faultB }), vhost([plain], { name: 'vh2', domains: ['b'] })],
      { fault: faultA, cors: false },
    );
    const filters = compileListenerFilters(l, new HttpFilterStats())!;
    expect(faultOf(filters.forRoute(own))!.fault.config).toBe(faultC);
    expect(faultOf(filters.forRoute(inherits))!.fault.config).toBe(faultB);
    expect(faultOf(filters.forRoute(plain))!.fault.config).toBe(faultA);
    // Routes inheriting one config share one compiled fault.
    const plain2 = route('plain2');
    const shared = compileListenerFilters(listener([vhost([plain, plain2])], { fault: faultA, cors: false }), new HttpFilterStats())!;
    expect(faultOf(shared.forRoute(plain))).toBe(faultOf(shared.forRoute(plain2)));
  });

  it('compiles CORS only with the filter in the chain and a policy on the route or virtual host', () => {
    const withPolicy = route('with', { cors });
    const fromHost = route('host');
    const l = listener([vhost([withPolicy]), vhost([fromHost], { domains: ['b'], cors: { ...cors, allowMethods: 'PUT' } })], { fault: null, cors: true });
    const filters = compileListenerFilters(l, new HttpFilterStats())!;
    expect(corsOf(filters.forRoute(withPolicy))!.cors.allowMethods).toBe('GET');
    expect(corsOf(filters.forRoute(fromHost))!.cors.allowMethods).toBe('PUT');
    const bare = route('bare');
    expect(compileListenerFilters(listener([vhost([bare])], { fault: null, cors: true }), new HttpFilterStats())).toBeNull();
  });

  it('keeps mirror policies whatever the chain, and skips redirects and direct responses', () => {
    const mirrored = route('m', { action: action([{ cluster: 'shadow', fraction: 0.5 }]) });
    const direct = route('d', { action: { type: 'direct_response', status: 200, body: null } });
    const filters = compileListenerFilters(listener([vhost([mirrored, direct])], { fault: faultA, cors: false }), new HttpFilterStats())!;
    const mirror = filters.forRoute(mirrored)!.at(-1) as MirrorFilterFactory;
    expect(mirror).toBeInstanceOf(MirrorFilterFactory);
    expect(mirror.policies).toEqual([{ cluster: 'shadow', fraction: 0.5 }]);
    expect(filters.forRoute(direct)).toBeNull();
  });

  it('builds the chain in http_filters order from the listener config, then the mirror', () => {
    const r = route('all', { cors, fault: faultA, action: action([{ cluster: 'shadow', fraction: 1 }]) });
    const names = (c: Filters): string[] =>
      compileListenerFilters(listener([vhost([r])], c), new HttpFilterStats())!.forRoute(r)!.map((f) => f.name);
    expect(names({ fault: null, cors: false })).toEqual(['isthmus.request_mirror']);
    // Adding a filter to the listener's http_filters adds it to the route's chain, in its place.
    expect(names({ fault: faultA, cors: false })).toEqual(['envoy.filters.http.fault', 'isthmus.request_mirror']);
    expect(names({ fault: faultA, cors: true })).toEqual(['envoy.filters.http.cors', 'envoy.filters.http.fault', 'isthmus.request_mirror']);
    // The order is http_filters' order.
    expect(names({ fault: faultA, cors: true, order: ['envoy.filters.http.fault', 'envoy.filters.http.cors'] }))
      .toEqual(['envoy.filters.http.fault', 'envoy.filters.http.cors', 'isthmus.request_mirror']);
  });

  it('adds the names CORS sets to the route response removals, once', () => {
    const r = route('c', { cors: { ...cors, allowCredentials: true } });
    const rf = corsOf(compileListenerFilters(listener([vhost([r])], { fault: null, cors: true }), new HttpFilterStats())!.forRoute(r))!;
    const planRemove = ['x-internal'];
    const merged = rf.removeWith(planRemove);
    expect(merged).toEqual(['x-internal', 'access-control-allow-origin', 'access-control-allow-credentials']);
    expect(rf.removeWith(planRemove)).toBe(merged);
  });
});
