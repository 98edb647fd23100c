// The control-plane path for the resilience fields: resources encoded to
// protobuf (Anys packed) the way the ADS server sends them, decoded by the
// client's ProtoJson, then read by the same readers as a bootstrap file. Covers
// the typed configs (HTTPFault, CorsPolicy, Cors, PreviousHostsPredicate,
// Isthmus's PeakEwma) and the wrapper/Percent/enum fields around them.
import { describe, expect, it } from 'vitest';
import { encodeResource } from '../../control/xds/resource-encoder.js';
import { readClusterObject, readRouteConfigObject } from '../../src/config/parse-resource-object.js';
import { ProtoJson } from '../../src/xds/proto-json.js';
import { loadXdsProtos, TYPE_URL } from '../../src/xds/xds-protos.js';
import { assembleBootstrap, validateXdsResource, type Json } from '../../src/xds/xds-resources.js';
import { listener } from '../control/xds/xds-fixtures.js';

const protoJson = new ProtoJson(loadXdsProtos().packageDefinition);
const T = 'type.googleapis.com/';
const FAULT_TYPE = `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`;
const CORS_POLICY_TYPE = `${T}envoy.extensions.filters.http.cors.v3.CorsPolicy`;

/** Encoded as the ADS server does, decoded as the ADS client does. */
function overTheWire(typeUrl: string, resource: object): Json {
  const encoded = encodeResource(typeUrl, resource);
  return protoJson.resourceToJson({ type_url: typeUrl, value: encoded.bytes });
}

const wrapped = (value: number | boolean) => ({ value });
const seconds = (s: number) => ({ seconds: s, nanos: 0 });

const CLUSTER = {
  name: 'reviews',
  type: 'STATIC',
  connect_timeout: seconds(1),
  circuit_breakers: {
    thresholds: [{
      max_connections: wrapped(10), max_pending_requests: wrapped(11), max_requests: wrapped(12), max_retries: wrapped(2), track_remaining: true,
      retry_budget: { budget_percent: { value: 30 }, min_retry_concurrency: wrapped(4) },
    }],
  },
  outlier_detection: {
    consecutive_5xx: wrapped(3), enforcing_consecutive_5xx: wrapped(100), enforcing_success_rate: wrapped(0),
    interval: seconds(2), base_ejection_time: seconds(15), max_ejection_percent: wrapped(40),
  },
  health_checks: [{
    timeout: seconds(1), interval: seconds(5), unhealthy_threshold: wrapped(2), healthy_threshold: wrapped(1),
    http_health_check: { path: '/healthz', expected_statuses: [{ start: 200, end: 400 }] },
  }],
  common_lb_config: { healthy_panic_threshold: { value: 25 } },
  load_balancing_policy: {
    policies: [{
      typed_extension_config: {
        name: 'isthmus.peak_ewma',
        typed_config: { '@type': `${T}isthmus.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma`, decay: seconds(7) },
      },
    }],
  },
  load_assignment: {
    cluster_name: 'reviews',
    policy: { overprovisioning_factor: wrapped(150) },
    endpoints: [
      {
        locality: { region: 'eu', zone: 'eu-1', sub_zone: 'a' },
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9001 } } } }],
      },
      {
        locality: { region: 'us' },
        priority: 1,
        lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9002 } } } }],
      },
    ],
  },
};

const ROUTE = {
  name: 'r1',
  virtual_hosts: [{
    name: 'all',
    domains: ['*'],
    typed_per_filter_config: {
      'envoy.filters.http.cors': {
        '@type': CORS_POLICY_TYPE,
        allow_origin_string_match: [{ exact: 'https://a.example' }],
        allow_methods: 'GET',
        max_age: '60',
        allow_credentials: wrapped(true),
      },
    },
    routes: [{
      match: { prefix: '/' },
      route: {
        cluster: 'reviews',
        hash_policy: [{ header: { header_name: 'x-user' } }, { connection_properties: { source_ip: true }, terminal: true }],
        request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 10 } } }],
        retry_policy: {
          retry_on: '5xx',
          num_retries: wrapped(2),
          retry_host_predicate: [{
            name: 'envoy.retry_host_predicates.previous_hosts',
            typed_config: { '@type': `${T}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate` },
          }],
          host_selection_retry_max_attempts: 5,
        },
      },
      typed_per_filter_config: {
        'envoy.filters.http.fault': {
          '@type': FAULT_TYPE,
          delay: { fixed_delay: { seconds: 0, nanos: 200_000_000 }, percentage: { numerator: 500_000, denominator: 'MILLION' } },
          abort: { http_status: 503, percentage: { numerator: 100 } },
        },
      },
    }],
  }],
};

describe('xDS decoding of the resilience fields', () => {
  it('reads a cluster with breakers, outlier detection, a health check, peak-EWMA and localities', () => {
    const json = overTheWire(TYPE_URL.CLUSTER, CLUSTER);
    expect(validateXdsResource(TYPE_URL.CLUSTER, json)).toEqual([]);
    const cluster = readClusterObject(json, 'Cluster reviews').value!;
    expect(cluster).toMatchObject({
      lbPolicy: 'PEAK_EWMA',
      peakEwmaDecayMs: 7000,
      healthyPanicThresholdPercent: 25,
      overprovisioningFactor: 150,
      circuitBreakers: { maxConnections: 10, maxPendingRequests: 11, maxRequests: 12, maxRetries: 2, retryBudget: { budgetPercent: 30, minRetryConcurrency: 4 } },
      outlierDetection: { consecutive5xx: 3, enforcingSuccessRate: 0, intervalMs: 2000, baseEjectionTimeMs: 15_000, maxEjectionPercent: 40 },
      healthCheck: { timeoutMs: 1000, intervalMs: 5000, unhealthyThreshold: 2, healthyThreshold: 1, http: { path: '/healthz', host: null, expectedStatuses: [[200, 400]] } },
    });
    expect(cluster.endpoints.map((e) => [e.port, e.locality, e.priority])).toEqual([
      [9001, { region: 'eu', zone: 'eu-1', subZone: 'a' }, 0],
      [9002, { region: 'us', zone: '', subZone: '' }, 1],
    ]);
  });

  it('reads RING_HASH with its UInt64 ring sizes and a Maglev extension config', () => {
    const ring = overTheWire(TYPE_URL.CLUSTER, { ...CLUSTER, load_balancing_policy: undefined, lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: wrapped(2048) } });
    expect(readClusterObject(ring, 'c').value).toMatchObject({ lbPolicy: 'RING_HASH', ringHash: { minRingSize: 2048, maxRingSize: 8_388_608 } });
    const maglev = overTheWire(TYPE_URL.CLUSTER, {
      ...CLUSTER,
      load_balancing_policy: { policies: [{ typed_extension_config: { name: 'm', typed_config: { '@type': `${T}envoy.extensions.load_balancing_policies.maglev.v3.Maglev`, table_size: wrapped(251) } } }] },
    });
    expect(readClusterObject(maglev, 'c').value).toMatchObject({ lbPolicy: 'MAGLEV', maglevTableSize: 251 });
  });

  it('reads hash, mirror and retry-predicate fields, and fault and CORS per-filter configs', () => {
    const json = overTheWire(TYPE_URL.ROUTE, ROUTE);
    expect(validateXdsResource(TYPE_URL.ROUTE, json)).toEqual([]);
    const refs: { name: string }[] = [];
    const route = readRouteConfigObject(json, 'RouteConfiguration r1', refs as never).value!;
    expect(refs.map((r) => r.name)).toEqual(['reviews', 'shadow']);
    const vh = route.virtualHosts[0]!;
    expect(vh.cors).toEqual({
      allowOriginStringMatch: [{ kind: 'exact', value: 'https://a.example', ignoreCase: false }],
      allowMethods: 'GET', allowHeaders: null, exposeHeaders: null, maxAge: '60', allowCredentials: true,
      allowPrivateNetworkAccess: false, filterEnabled: 1,
    });
    const r = vh.routes[0]!;
    expect(r.fault).toEqual({
      delay: { fixedDelayMs: 200, headerDelay: false, percentage: 0.5 },
      abort: { httpStatus: 503, grpcStatus: null, headerAbort: false, percentage: 1 },
      headers: [],
      maxActiveFaults: null,
    });
    expect(r.action).toMatchObject({
      hashPolicy: [{ kind: 'header', name: 'x-user', terminal: false }, { kind: 'source_ip', terminal: true }],
      requestMirrorPolicies: [{ cluster: 'shadow', fraction: 0.1 }],
      retryPolicy: { numRetries: 2, previousHostsPredicate: true, hostSelectionRetryMaxAttempts: 5 },
    });
  });

  it('reads the fault and cors HTTP filters of a listener, and waits for mirror clusters when assembling', () => {
    const source = structuredClone(listener('l1', 15001, 'r1')) as { filter_chains: { filters: { typed_config: Json }[] }[] };
    source.filter_chains[0]!.filters[0]!.typed_config.http_filters = [
      { name: 'envoy.filters.http.cors', typed_config: { '@type': `${T}envoy.extensions.filters.http.cors.v3.Cors` } },
      { name: 'envoy.filters.http.fault', typed_config: { '@type': FAULT_TYPE, max_active_faults: wrapped(3) } },
      { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } },
    ];
    const json = overTheWire(TYPE_URL.LISTENER, source);
    expect(validateXdsResource(TYPE_URL.LISTENER, json)).toEqual([]);
    const route = overTheWire(TYPE_URL.ROUTE, ROUTE);
    const cluster = overTheWire(TYPE_URL.CLUSTER, CLUSTER);
    const sets = (clusters: Json[]) => ({
      listeners: new Map([['l1', json]]),
      routes: new Map([['r1', route]]),
      clusters: new Map(clusters.map((c) => [c.name as string, c])),
      endpoints: new Map<string, Json>(),
    });
    expect(assembleBootstrap(sets([cluster]))).toEqual({ complete: false, waitingFor: ['Cluster shadow (for RouteConfiguration r1)'] });
    const shadow = overTheWire(TYPE_URL.CLUSTER, { ...CLUSTER, name: 'shadow', load_assignment: { ...CLUSTER.load_assignment, cluster_name: 'shadow' } });
    const assembly = assembleBootstrap(sets([cluster, shadow]));
    expect(assembly.complete).toBe(true);
    if (!assembly.complete) return;
    expect(assembly.bootstrap.listeners[0]!.httpFilters).toEqual({
      fault: { delay: null, abort: null, headers: [], maxActiveFaults: 3 },
      cors: true,
      localRateLimit: null,
      compressors: [],
      order: ['envoy.filters.http.cors', 'envoy.filters.http.fault'],
    });
  });

  it('reads local_ratelimit and compressor filters (gzip, brotli) from a listener over the wire', () => {
    const source = structuredClone(listener('l1', 15001, 'r1')) as { filter_chains: { filters: { typed_config: Json }[] }[] };
    const compressor = (name: string, type: string, options: object) => ({
      '@type': `${T}envoy.extensions.filters.http.compressor.v3.Compressor`,
      response_direction_config: { common_config: { min_content_length: wrapped(64), content_type: ['text/plain'] }, disable_on_etag_header: true },
      compressor_library: { name, typed_config: { '@type': `${T}envoy.extensions.compression.${type}`, ...options } },
    });
    source.filter_chains[0]!.filters[0]!.typed_config.http_filters = [
      {
        name: 'envoy.filters.http.local_ratelimit',
        typed_config: {
          '@type': `${T}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`,
          stat_prefix: 'rl',
          token_bucket: { max_tokens: 5, tokens_per_fill: wrapped(5), fill_interval: seconds(2) },
          filter_enabled: { runtime_key: 'rl_enabled', default_value: { numerator: 100, denominator: 'HUNDRED' } },
          filter_enforced: { runtime_key: 'rl_enforced', default_value: { numerator: 50, denominator: 'HUNDRED' } },
          status: { code: 'ServiceUnavailable' },
          enable_x_ratelimit_headers: 'DRAFT_VERSION_03',
        },
      },
      { name: 'gzip', typed_config: compressor('g', 'gzip.compressor.v3.Gzip', { memory_level: wrapped(3), compression_level: 'BEST_SPEED' }) },
      { name: 'brotli', typed_config: compressor('b', 'brotli.compressor.v3.Brotli', { quality: wrapped(5) }) },
      { name: 'envoy.filters.http.router', typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` } },
    ];
    const json = overTheWire(TYPE_URL.LISTENER, source);
    expect(validateXdsResource(TYPE_URL.LISTENER, json)).toEqual([]);
    const assembly = assembleBootstrap({
      listeners: new Map([['l1', json]]),
      routes: new Map([['r1', overTheWire(TYPE_URL.ROUTE, ROUTE)]]),
      clusters: new Map([['reviews', overTheWire(TYPE_URL.CLUSTER, CLUSTER)], ['shadow', overTheWire(TYPE_URL.CLUSTER, { ...CLUSTER, name: 'shadow' })]]),
      endpoints: new Map<string, Json>(),
    });
    expect(assembly.complete).toBe(true);
    if (!assembly.complete) return;
    const filters = assembly.bootstrap.listeners[0]!.httpFilters;
    expect(filters.localRateLimit).toMatchObject({
      statPrefix: 'rl', tokenBucket: { maxTokens: 5, tokensPerFill: 5, fillIntervalMs: 2000 }, enabled: 1, enforced: 0.5, status: 503, xRateLimitHeaders: true,
    });
    expect(filters.compressors.map((c) => [c.filterName, c.encoding, c.minContentLength, c.disableOnEtag])).toEqual([['gzip', 'gzip', 64, true], ['brotli', 'br', 64, true]]);
    expect(filters.compressors[0]!.gzip).toMatchObject({ memLevel: 3, level: 1 });
    expect(filters.compressors[1]!.brotli).toMatchObject({ quality: 5 });
  });

  it('names an unknown load balancing policy type that arrived as an opaque Any', () => {
    const json = overTheWire(TYPE_URL.CLUSTER, {
      ...CLUSTER,
      load_balancing_policy: { policies: [{ typed_extension_config: { name: 'x', typed_config: { type_url: `${T}x.Unknown`, value: Buffer.from([8, 1]) } } }] },
    });
    expect(validateXdsResource(TYPE_URL.CLUSTER, json)).toEqual([
      expect.stringMatching(/^Cluster reviews: load_balancing_policy\.policies names no load balancing policy this proxy implements \(got type\.googleapis\.com\/x\.Unknown; supported: /),
    ]);
  });

  it('decodes the everyday forms: a 0-weight cluster and CORS shadow_enabled', () => {
    const json = overTheWire(TYPE_URL.ROUTE, {
      name: 'r2',
      virtual_hosts: [{
        name: 'all',
        domains: ['*'],
        typed_per_filter_config: {
          'envoy.filters.http.cors': {
            '@type': CORS_POLICY_TYPE,
            allow_origin_string_match: [{ exact: 'https://a.example' }],
            filter_enabled: { default_value: { numerator: 0 } },
            shadow_enabled: { default_value: { numerator: 100 } },
          },
        },
        routes: [{
          match: { prefix: '/' },
          route: { weighted_clusters: { clusters: [{ name: 'stable', weight: wrapped(100) }, { name: 'canary', weight: wrapped(0) }] } },
        }],
      }],
    });
    const route = readRouteConfigObject(json, 'RouteConfiguration r2').value!;
    expect(route.virtualHosts[0]!.cors).toMatchObject({ filterEnabled: 0, shadowEnabled: 1 });
    expect(route.virtualHosts[0]!.routes[0]!.action).toMatchObject({ clusters: [{ name: 'stable', weight: 100 }, { name: 'canary', weight: 0 }], totalWeight: 100 });
  });
});
