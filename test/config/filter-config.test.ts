// HTTP filters (fault, cors, router), fault and CORS per-filter config on
// virtual hosts and routes (and the deprecated `cors` fields): parsed values,
// Envoy's defaults and problems.
import { describe, expect, it } from 'vitest';
import { bootstrapText, lineOf, parseParts, problemLines } from './bootstrap-text.js';

const FAULT = 'envoy.filters.http.fault';
const CORS = 'envoy.filters.http.cors';
const FAULT_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const CORS_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors';
const CORS_POLICY_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';
/** A long path is shown from its nearest named object: here the virtual host "web". */
const VH = 'virtual host "web"';

const EMPTY_FAULT = { delay: null, abort: null, headers: [], maxActiveFaults: null };

describe('http_filters', () => {
  it('is the router alone without the list; fault and cors in any order before the router', () => {
    expect(parseParts({}).listeners[0]!.httpFilters).toEqual({ fault: null, cors: false, localRateLimit: null, compressors: [], order: [] });
    const both = parseParts({ httpFilters: [{ name: CORS, typed_config: { '@type': CORS_TYPE } }, { name: FAULT, typed_config: { '@type': FAULT_TYPE } }, ROUTER] });
    expect(both.listeners[0]!.httpFilters).toEqual({ fault: EMPTY_FAULT, cors: true, localRateLimit: null, compressors: [], order: [CORS, FAULT] });
    const faultFirst = parseParts({
      httpFilters: [
        { name: FAULT, typed_config: { '@type': FAULT_TYPE, abort: { http_status: 503, percentage: { numerator: 10 } }, max_active_faults: 4 } },
        { name: CORS },
        { name: 'envoy.filters.http.router' },
      ],
    });
    expect(faultFirst.listeners[0]!.httpFilters).toEqual({
      fault: { delay: null, abort: { httpStatus: 503, grpcStatus: null, headerAbort: false, percentage: 0.1 }, headers: [], maxActiveFaults: 4 },
      cors: true,
      localRateLimit: null,
      compressors: [],
      order: [FAULT, CORS], // the order of each route's filter chain
    });
  });

  it('reports a filter after the router, a repeated filter, an unknown filter and a wrong type', () => {
    const parts = {
      httpFilters: [
        { name: FAULT },
        { name: FAULT },
        { name: 'envoy.filters.http.lua' },
        { name: CORS, typed_config: { '@type': CORS_POLICY_TYPE } },
        ROUTER,
        { name: 'envoy.filters.http.grpc_stats' },
      ],
    };
    const text = bootstrapText(parts);
    const f = `${HCM}.http_filters`;
    /** Line of the n-th (0-based) occurrence of marker. */
    const line = (marker: string, n = 0): number => {
      let at = text.indexOf(marker);
      for (let i = 0; i < n; i++) at = text.indexOf(marker, at + 1);
      return text.slice(0, at).split('\n').length;
    };
    expect(problemLines(parts)).toEqual([
      `b.yaml:${line(`name: ${FAULT}`, 1)}: ${f}[1].name repeats ${FAULT}; each HTTP filter may appear once`,
      `b.yaml:${line('envoy.filters.http.lua')}: ${f}[2].name names "envoy.filters.http.lua"; the supported HTTP filters are ${FAULT}, ${CORS}, envoy.filters.http.local_ratelimit, envoy.filters.http.rbac, envoy.filters.http.compressor, isthmus.filters.http.mixer, envoy.filters.http.ext_authz, envoy.filters.http.router`,
      // A path past 100 characters is shown from its listener.
      `b.yaml:${line(CORS_POLICY_TYPE)}: listener "l" › filter_chains[0].filters[0].typed_config.http_filters[3].typed_config.@type must be ${CORS_TYPE} (got "${CORS_POLICY_TYPE}")`,
      `b.yaml:${line('name: envoy.filters.http.router')}: ${f}[4].name envoy.filters.http.router must be the last HTTP filter`,
      `b.yaml:${line('grpc_stats')}: ${f}[5].name names "envoy.filters.http.grpc_stats"; the supported HTTP filters are ${FAULT}, ${CORS}, envoy.filters.http.local_ratelimit, envoy.filters.http.rbac, envoy.filters.http.compressor, isthmus.filters.http.mixer, envoy.filters.http.ext_authz, envoy.filters.http.router`,
    ]);
    const noRouter = { httpFilters: [{ name: CORS }] };
    expect(problemLines(noRouter)).toEqual([`b.yaml:${lineOf(bootstrapText(noRouter), `- name: ${CORS}`)}: ${f} must end with envoy.filters.http.router`]);
  });
});

describe('fault config (HTTPFault)', () => {
  const route = (fault: Record<string, unknown>) =>
    parseParts({ route: { typed_per_filter_config: { [FAULT]: { '@type': FAULT_TYPE, ...fault } } } }).listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!;

  it('reads fixed and header delays, HTTP, gRPC and header aborts, header matchers and max_active_faults', () => {
    expect(route({
      delay: { fixed_delay: '0.2s', percentage: { numerator: 50 } },
      abort: { grpc_status: 14, percentage: { numerator: 250_000, denominator: 'MILLION' } },
      headers: [{ name: 'x-fault', exact_match: 'on' }],
      max_active_faults: 100,
    }).fault).toEqual({
      delay: { fixedDelayMs: 200, headerDelay: false, percentage: 0.5 },
      abort: { httpStatus: null, grpcStatus: 14, headerAbort: false, percentage: 0.25 },
      headers: [{ name: 'x-fault', match: { kind: 'exact', value: 'on', ignoreCase: false }, present: true, invert: false }],
      maxActiveFaults: 100,
    });
    // Envoy: an unset percentage is an empty FractionalPercent, i.e. 0%.
    expect(route({ delay: { header_delay: {} }, abort: { header_abort: {} } }).fault).toEqual({
      delay: { fixedDelayMs: null, headerDelay: true, percentage: 0 },
      abort: { httpStatus: null, grpcStatus: null, headerAbort: true, percentage: 0 },
      headers: [],
      maxActiveFaults: null,
    });
  });

  it('reports a status out of range, no abort kind, a zero delay and unsupported fields', () => {
    const parts = {
      route: {
        typed_per_filter_config: {
          [FAULT]: { '@type': FAULT_TYPE, delay: { fixed_delay: '0s' }, abort: { http_status: 600 }, upstream_cluster: 'x' },
        },
      },
      vhost: { typed_per_filter_config: { [FAULT]: { '@type': FAULT_TYPE, abort: { percentage: { numerator: 1 } } } } },
    };
    const text = bootstrapText(parts);
    const rf = `${VH} › routes[0].typed_per_filter_config['${FAULT}']`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, "fixed_delay: 0s")}: ${rf}.delay.fixed_delay must be greater than 0`,
      `b.yaml:${lineOf(text, 'http_status: 600')}: ${rf}.abort.http_status must be between 200 and 599`,
      `b.yaml:${lineOf(text, 'upstream_cluster')}: ${rf}.upstream_cluster is not supported`,
      `b.yaml:${lineOf(text, 'numerator: 1', 'upstream_cluster') - 1}: ${VH} › typed_per_filter_config['${FAULT}'].abort must set one of http_status, grpc_status, header_abort`,
    ]);
  });
});

describe('CORS policy and per-filter inheritance fields', () => {
  const policy = {
    allow_origin_string_match: [{ exact: 'https://a.example' }, { suffix: '.b.example' }],
    allow_methods: 'GET,POST', allow_headers: 'x-a', expose_headers: 'x-b', max_age: '600', allow_credentials: true,
  };
  const expected = {
    allowOriginStringMatch: [{ kind: 'exact', value: 'https://a.example', ignoreCase: false }, { kind: 'suffix', value: '.b.example', ignoreCase: false }],
    allowMethods: 'GET,POST', allowHeaders: 'x-a', exposeHeaders: 'x-b', maxAge: '600', allowCredentials: true,
    allowPrivateNetworkAccess: false, filterEnabled: 1,
  };

  it('reads the typed CorsPolicy on a virtual host and the deprecated cors on a route action; each level keeps its own', () => {
    const b = parseParts({
      vhost: { typed_per_filter_config: { [CORS]: { '@type': CORS_POLICY_TYPE, ...policy, filter_enabled: { default_value: { numerator: 50 } } } } },
      action: { cors: { allow_origin_string_match: [{ prefix: 'http://' }] } },
    });
    const vh = b.listeners[0]!.routeConfig.virtualHosts[0]!;
    expect(vh.cors).toEqual({ ...expected, filterEnabled: 0.5 });
    expect(vh.fault).toBeNull();
    expect(vh.routes[0]!.cors).toEqual({
      allowOriginStringMatch: [{ kind: 'prefix', value: 'http://', ignoreCase: false }],
      allowMethods: null, allowHeaders: null, exposeHeaders: null, maxAge: null, allowCredentials: null,
      allowPrivateNetworkAccess: false, filterEnabled: 1,
    });
    expect(vh.routes[0]!.fault).toBeNull();
    const legacyVh = parseParts({ vhost: { cors: policy }, route: { typed_per_filter_config: { [FAULT]: { '@type': FAULT_TYPE } } } });
    const host = legacyVh.listeners[0]!.routeConfig.virtualHosts[0]!;
    expect(host.cors).toEqual(expected);
    expect(host.routes[0]!).toMatchObject({ cors: null, fault: { delay: null, abort: null, headers: [], maxActiveFaults: null } });
  });

  it('reports both cors spellings at once, a bad max_age, a bad shadow_enabled and an unknown filter name', () => {
    const parts = {
      vhost: {
        cors: { allow_methods: 'GET' },
        typed_per_filter_config: {
          [CORS]: { '@type': CORS_POLICY_TYPE, max_age: '10m', shadow_enabled: { runtime_key: 'cors.shadow' } },
          'envoy.filters.http.ext_authz': { '@type': 'type.googleapis.com/x' },
        },
      },
    };
    const text = bootstrapText(parts);
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'allow_methods: GET')}: ${VH} › cors and typed_per_filter_config['${CORS}'] both set a CORS policy; keep one (cors is deprecated)`,
      `b.yaml:${lineOf(text, 'max_age')}: ${VH} › typed_per_filter_config['${CORS}'].max_age must be a whole number of seconds, e.g. "86400" (got "10m")`,
      `b.yaml:${lineOf(text, 'runtime_key')}: ${VH} › typed_per_filter_config['${CORS}'].shadow_enabled.default_value is required`,
      `b.yaml:${lineOf(text, 'type.googleapis.com/x\n')}: ${VH} › typed_per_filter_config['envoy.filters.http.ext_authz'] is not supported (of the HTTP filters, this proxy runs only ${FAULT}, ${CORS}, envoy.filters.http.local_ratelimit and envoy.filters.http.rbac with per-route config)`,
    ]);
  });
});
