// The filter manager runs a route's chain the Envoy way: decodeHeaders in
// chain order until a filter stops, the router only when every filter let the
// request through, a stopped chain resumed only by the filter that stopped it,
// body and completion only to filters that have seen the head, response heads
// last filter first. And a filter added in the listener's config shows up in a
// route's chain and acts there (a real CORS preflight, a real fault delay).
import { describe, expect, it } from 'vitest';
import type { CorsPolicy, FaultConfig, Listener, Route, VirtualHost } from '../../../src/config/bootstrap-types.js';
import type { FilterAnswer } from '../../../workers/filters/filter-answer.js';
import { FilterManager, type FilterChainOwner } from '../../../workers/filters/filter-manager.js';
import {
  FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory, type ResponseHeaderEdit,
} from '../../../workers/filters/http-filter.js';
import { HttpFilterStats } from '../../../workers/http-filter-stats.js';
import { ResponseFlag } from '../../../workers/response-flags.js';
import { compileListenerFilters } from '../../../workers/route-filters.js';
import { parseRequest } from '../../native/parse-helpers.js';

/** The request side the manager talks to: records what happened, in order. */
class FakeStream implements FilterChainOwner, HttpFilterCallbacks {
  readonly log: string[] = [];
  finished = false;
  headBuf: Buffer | null;
  headFields: Uint32Array | null;
  manager: FilterManager | null = null;
  method: string;
  path = '/x';
  query = '';
  authority = 'svc';
  headers: readonly string[] = [];
  flags = 0;
  answer: FilterAnswer | null = null;
  readonly clusters = new Map();
  readonly requestComplete = true;

  constructor(method = 'GET', headers: Record<string, string> = {}) {
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const p = parseRequest(`${method} /x HTTP/1.1\r\nhost: svc\r\n${lines}\r\n`);
    this.headBuf = p.buf;
    this.headFields = p.out;
    this.method = method;
  }

  keepHead(): void {
    this.log.push('keepHead');
  }

  decodeHeadersToRouter(): void {
    this.log.push('router');
  }

  continueDecoding(): void {
    this.manager!.continueDecoding();
  }

  sendLocalReply(answer: FilterAnswer): void {
    this.log.push(`reply ${answer.status}`);
    this.flags |= answer.flag;
    this.answer = answer;
    this.finished = true;
  }

  addResponseFlag(flag: number): void {
    this.flags |= flag;
  }

  upstreamHead(): Buffer | null {
    return null;
  }

  bodySoFar(): readonly Buffer[] | null {
    return [];
  }
}

/** A filter that logs each hook and returns what it is told to from decodeHeaders. */
class Recording extends PassThroughFilter {
  resume: (() => void) | null = null;

  constructor(
    private readonly name: string,
    private readonly stream: FakeStream,
    private readonly status: FilterStatus,
  ) {
    super();
  }

  decodeHeaders(head: Buffer): FilterStatus {
    this.stream.log.push(`${this.name}.decodeHeaders ${head.latin1Slice(0, 3)}`);
    return this.status;
  }

  override decodeData(piece: Buffer): void {
    this.stream.log.push(`${this.name}.decodeData ${piece.toString()}`);
  }

  override decodeComplete(): void {
    this.stream.log.push(`${this.name}.decodeComplete`);
  }

  override encodeHeaders(edit: ResponseHeaderEdit): void {
    this.stream.log.push(`${this.name}.encodeHeaders`);
    edit.add += `x-${this.name}: 1\r\n`;
  }

  override onDestroy(): void {
    this.stream.log.push(`${this.name}.onDestroy`);
  }
}

function factory(name: string, status: FilterStatus, made: Recording[]): HttpFilterFactory {
  return {
    name,
    create(callbacks) {
      const f = new Recording(name, callbacks as FakeStream, status);
      made.push(f);
      return f;
    },
  };
}

function run(stream: FakeStream, chain: readonly HttpFilterFactory[]): FilterManager {
  stream.manager = FilterManager.create(stream, chain, stream);
  stream.manager.decodeHeaders();
  return stream.manager;
}

const { CONTINUE, STOP_ITERATION } = FilterStatus;

describe('FilterManager', () => {
  it('runs every filter in chain order, then the router; data in order, response heads last filter first', () => {
    const s = new FakeStream();
    const m = run(s, [factory('a', CONTINUE, []), factory('b', CONTINUE, []), factory('c', CONTINUE, [])]);
    m.decodeData(Buffer.from('body'));
    m.decodeComplete();
    const edit = { remove: null, add: '' };
    m.encodeHeaders(edit);
    m.destroy();
    expect(s.log).toEqual([
      'a.decodeHeaders GET', 'b.decodeHeaders GET', 'c.decodeHeaders GET', 'router',
      'a.decodeData body', 'b.decodeData body', 'c.decodeData body',
      'a.decodeComplete', 'b.decodeComplete', 'c.decodeComplete',
      'c.encodeHeaders', 'b.encodeHeaders', 'a.encodeHeaders',
      'a.onDestroy', 'b.onDestroy', 'c.onDestroy',
    ]);
    expect(edit.add).toBe('x-c: 1\r\nx-b: 1\r\nx-a: 1\r\n');
  });

  it('stops at a filter that returns STOP_ITERATION and resumes after it, once, when that filter continues', () => {
    const s = new FakeStream();
    const made: Recording[] = [];
    const m = run(s, [factory('a', CONTINUE, made), factory('b', STOP_ITERATION, made), factory('c', CONTINUE, made)]);
    expect(s.log).toEqual(['a.decodeHeaders GET', 'b.decodeHeaders GET', 'keepHead']);
    expect(m.waiting).toBe(true);
    // Body while stopped: only the filters that have seen the head.
    m.decodeData(Buffer.from('early'));
    expect(s.log.slice(3)).toEqual(['a.decodeData early', 'b.decodeData early']);
    s.log.length = 0;
    s.continueDecoding();
    expect(s.log).toEqual(['c.decodeHeaders GET', 'router']);
    expect(m.waiting).toBe(false);
    s.log.length = 0;
    s.continueDecoding(); // not stopped any more: nothing runs twice
    m.decodeData(Buffer.from('late'));
    expect(s.log).toEqual(['a.decodeData late', 'b.decodeData late', 'c.decodeData late']);
  });

  it('goes no further once a filter answered, even if it returned CONTINUE; a later resume does nothing', () => {
    const s = new FakeStream();
    const answering: HttpFilterFactory = {
      name: 'answers',
      create: (cb) => new (class extends PassThroughFilter {
        decodeHeaders(): FilterStatus {
          cb.sendLocalReply({ status: 403, body: '', headers: '', flag: 0 });
          return CONTINUE;
        }
      })(),
    };
    const m = run(s, [factory('a', CONTINUE, []), answering, factory('c', CONTINUE, [])]);
    m.continueDecoding();
    m.destroy();
    expect(s.log).toEqual(['a.decodeHeaders GET', 'reply 403', 'a.onDestroy']);
  });
});

// ---- filters from config, run by the manager ----

/** http_filters as read from config; without an explicit order, CORS before fault (as Istio lists them). */
type Filters = Omit<Listener['httpFilters'], 'order' | 'localRateLimit' | 'compressors'> & Partial<Pick<Listener['httpFilters'], 'localRateLimit' | 'compressors'>> & { order?: readonly string[] };

function withOrder(f: Filters): Listener['httpFilters'] {
  const order = f.order ?? [...(f.cors ? ['envoy.filters.http.cors'] : []), ...(f.fault !== null ? ['envoy.filters.http.fault'] : [])];
  return { localRateLimit: null, compressors: [], ...f, order };
}

const noMutation = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };
const cors: CorsPolicy = {
  allowOriginStringMatch: [{ kind: 'exact', value: 'https://a.test', ignoreCase: false }],
  allowMethods: 'GET, PUT', allowHeaders: null, exposeHeaders: null, maxAge: null, allowCredentials: null,
  allowPrivateNetworkAccess: false, filterEnabled: 1,
};

function routeWith(extra: Partial<Route>): Route {
  return {
    name: 'r',
    match: { kind: 'prefix', value: '/', caseSensitive: true, headers: [], queryParameters: [] },
    action: {
      type: 'route', clusters: [{ name: 'backend', weight: 1 }], totalWeight: 1, timeoutMs: 15000, retryPolicy: null,
      prefixRewrite: null, hostRewriteLiteral: null, hashPolicy: [], requestMirrorPolicies: [],
    },
    ...noMutation,
    fault: null,
    cors: null,
    localRateLimit: null,
    ...extra,
  };
}

function chainOf(route: Route, httpFilters: Filters): readonly HttpFilterFactory[] | null {
  const vh: VirtualHost = { name: 'vh', domains: ['*'], routes: [route], ...noMutation, fault: null, cors: null, localRateLimit: null };
  const listener = {
    name: 'in', address: { address: '127.0.0.1', port: 0 }, statPrefix: 'in',
    routeConfig: { name: 'rc', virtualHosts: [vh], ...noMutation },
    streamIdleTimeoutMs: 300000, requestHeadersTimeoutMs: 0, httpFilters: withOrder(httpFilters),
  } as unknown as Listener;
  return compileListenerFilters(listener, new HttpFilterStats())?.forRoute(route) ?? null;
}

describe('a filter added to the listener config joins the route`s chain', () => {
  const preflight = { origin: 'https://a.test', 'access-control-request-method': 'PUT' };

  it('without the CORS filter a preflight goes to the router; with it, CORS answers it and the router never runs', () => {
    const route = routeWith({ cors });
    expect(chainOf(route, { fault: null, cors: false })).toBeNull();

    const chain = chainOf(route, { fault: null, cors: true })!;
    expect(chain.map((f) => f.name)).toEqual(['envoy.filters.http.cors']);
    const s = new FakeStream('OPTIONS', preflight);
    run(s, chain);
    expect(s.log).toEqual(['reply 200']);
    expect(s.answer!.headers).toContain('access-control-allow-methods: GET, PUT\r\n');

    // A plain request from the allowed origin passes, and its response head gets allow-origin.
    const get = new FakeStream('GET', { origin: 'https://a.test' });
    const m = run(get, chain);
    expect(get.log).toEqual(['router']);
    const edit = { remove: ['x-internal'] as readonly string[] | null, add: '' };
    m.encodeHeaders(edit);
    expect(edit.add).toBe('access-control-allow-origin: https://a.test\r\n');
    expect(edit.remove).toEqual(['x-internal', 'access-control-allow-origin']);
  });

  it('runs the filters in http_filters order: an abort ahead of CORS never gets its headers, one after it does', () => {
    const abort: FaultConfig = {
      delay: null, abort: { httpStatus: 503, grpcStatus: null, headerAbort: false, percentage: 1 }, headers: [], maxActiveFaults: null,
    };
    const route = routeWith({ cors });
    const answerFor = (order: string[]): string => {
      const s = new FakeStream('GET', { origin: 'https://a.test' });
      const m = run(s, chainOf(route, { fault: abort, cors: true, order })!);
      expect(s.log).toEqual(['reply 503']);
      const edit = { remove: null, add: '' };
      m.encodeHeaders(edit); // as the stream does for its local reply
      return edit.add;
    };
    expect(answerFor(['envoy.filters.http.cors', 'envoy.filters.http.fault'])).toBe('access-control-allow-origin: https://a.test\r\n');
    expect(answerFor(['envoy.filters.http.fault', 'envoy.filters.http.cors'])).toBe('');
  });

  it('a fault delay stops the chain (flagged DI) and its timer, not the manager, resumes it to the router', async () => {
    const fault: FaultConfig = {
      delay: { fixedDelayMs: 30, headerDelay: false, percentage: 1 }, abort: null, headers: [], maxActiveFaults: null,
    };
    const chain = chainOf(routeWith({}), { fault, cors: false })!;
    const s = new FakeStream();
    const started = performance.now();
    const m = run(s, chain);
    expect(s.log).toEqual(['keepHead']);
    expect(s.flags & ResponseFlag.DI).toBe(ResponseFlag.DI);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.log).toEqual(['keepHead', 'router']);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    m.destroy();
  });
});
