// isthmus.filters.http.mixer's HttpClientConfig: read from a bootstrap file and
// from an xDS listener (encoded as the ADS server sends it, decoded as the
// client does), defaults, and problems that name the field.
import { describe, expect, it } from 'vitest';
import { encodeResource } from '../../control/xds/resource-encoder.js';
import { ProtoJson } from '../../src/xds/proto-json.js';
import { loadXdsProtos, TYPE_URL } from '../../src/xds/xds-protos.js';
import { readListenerObject } from '../../src/config/parse-resource-object.js';
import { validateXdsResource, type Json } from '../../src/xds/xds-resources.js';
import { listener, routeConfig } from '../control/xds/xds-fixtures.js';
import { parseParts, problemLines } from './bootstrap-text.js';

const MIXER = 'isthmus.filters.http.mixer';
const MIXER_TYPE = 'type.googleapis.com/isthmus.mixer.v1.config.client.HttpClientConfig';
const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
const CONFIG = {
  '@type': MIXER_TYPE,
  transport: { check_cluster: 'mixer', network_fail_policy: { policy: 'FAIL_CLOSE', max_retry: 2, base_retry_wait: '0.010s', max_retry_wait: '0.100s' }, check_timeout: '0.250s' },
  mixer_attributes: {
    attributes: {
      'destination.service.host': { string_value: 'reviews.default.svc.cluster.local' },
      'destination.labels': { string_map_value: { entries: { app: 'reviews', version: 'v1' } } },
      'destination.port': { int64_value: 9080 },
    },
  },
  check_attributes: ['request.path', 'request.headers', 'source.principal'],
  report_attributes: ['response.code'],
  quotas: [{ quota: 'requestcount.quota.istio-system', charge: 1 }],
  report_batch_max_entries: 20,
  report_batch_max_time: '0.200s',
  check_cache_max_entries: 500,
};

describe('isthmus.filters.http.mixer config', () => {
  it('reads every field from a bootstrap file, with its static attributes typed', () => {
    const b = parseParts({ httpFilters: [{ name: MIXER, typed_config: CONFIG }, ROUTER] });
    const f = b.listeners[0]!.filterChains[0]!.hcm.httpFilters;
    expect(f.order).toEqual([MIXER]);
    const m = f.mixer!;
    expect(m).toMatchObject({
      checkCluster: 'mixer', failPolicy: 'FAIL_CLOSE', maxRetry: 2, baseRetryWaitMs: 10, maxRetryWaitMs: 100, checkTimeoutMs: 250,
      checkAttributes: ['request.path', 'request.headers', 'source.principal'], reportAttributes: ['response.code'],
      quotas: [{ quota: 'requestcount.quota.istio-system', charge: 1 }], reportBatchMaxEntries: 20, reportBatchMaxTimeMs: 200, checkCacheMaxEntries: 500,
      disableCheckCalls: false, disableReportCalls: false,
    });
    const byName = new Map(m.mixerAttributes.map((a) => [a.name, a]));
    expect(byName.get('destination.port')).toEqual({ name: 'destination.port', value: 9080, wire: { int64_value: 9080 } });
    expect({ ...(byName.get('destination.labels')!.value as object) }).toEqual({ app: 'reviews', version: 'v1' });
  });

  it('has Istio client defaults: fail open, 500ms check timeout, batches of 100 or 1s, 10000 cache entries', () => {
    const b = parseParts({ httpFilters: [{ name: MIXER, typed_config: { '@type': MIXER_TYPE } }, ROUTER] });
    expect(b.listeners[0]!.filterChains[0]!.hcm.httpFilters.mixer).toMatchObject({
      failPolicy: 'FAIL_OPEN', maxRetry: 0, checkTimeoutMs: 500, reportBatchMaxEntries: 100, reportBatchMaxTimeMs: 1000, checkCacheMaxEntries: 10000,
      checkAttributes: [], mixerAttributes: [],
    });
  });

  it('names the field of each problem', () => {
    const lines = problemLines({
      httpFilters: [{
        name: MIXER,
        typed_config: {
          '@type': MIXER_TYPE,
          transport: { check_cluster: 'mixer', network_fail_policy: { policy: 'FAIL_SOMETIMES' }, check_timeout: '0s' },
          mixer_attributes: { attributes: { 'destination.port': { int64_value: 1, string_value: 'x' }, 'Bad Name': { string_value: 'x' } } },
          check_attributes: ['request.path', 'request path'],
          quotas: [{ charge: 1 }],
          cache_size: 3,
        },
      }, ROUTER],
    }).join('\n');
    expect(lines).toMatch(/network_fail_policy\.policy must be one of FAIL_OPEN, FAIL_CLOSE/);
    expect(lines).toMatch(/check_timeout must be longer than 0s/);
    expect(lines).toMatch(/attributes\['destination\.port'\] sets string_value and int64_value|destination\.port'\] sets int64_value and string_value/);
    expect(lines).toMatch(/"Bad Name" is not an attribute name/);
    expect(lines).toMatch(/check_attributes\[1\] "request path" is not an attribute name/);
    expect(lines).toMatch(/quotas\[0\]\.quota is required/);
    expect(lines).toMatch(/cache_size/);
  });

  it('needs its typed_config', () => {
    expect(problemLines({ httpFilters: [{ name: MIXER }, ROUTER] }).join('\n')).toMatch(/http_filters\[0\]\.typed_config is required/);
  });

  it('reads the same config from an xDS listener (an Any decoded by the client)', () => {
    const protoJson = new ProtoJson(loadXdsProtos().packageDefinition);
    const wire = (typeUrl: string, resource: object): Json => protoJson.resourceToJson({ type_url: typeUrl, value: encodeResource(typeUrl, resource).bytes });
    const source = structuredClone(listener('l1', 15001, 'r1')) as { filter_chains: { filters: { typed_config: Json }[] }[] };
    const hcm = source.filter_chains[0]!.filters[0]!.typed_config;
    delete hcm.rds;
    hcm.route_config = routeConfig('r1', ['c1']) as Json;
    hcm.http_filters = [
      { name: MIXER, typed_config: { ...CONFIG, transport: { ...CONFIG.transport, network_fail_policy: { policy: 'FAIL_CLOSE', max_retry: 2, base_retry_wait: { seconds: 0, nanos: 10_000_000 }, max_retry_wait: { seconds: 0, nanos: 100_000_000 } }, check_timeout: { seconds: 0, nanos: 250_000_000 } }, report_batch_max_time: { seconds: 0, nanos: 200_000_000 } } },
      ROUTER,
    ];
    const json = wire(TYPE_URL.LISTENER, source);
    expect(validateXdsResource(TYPE_URL.LISTENER, json)).toEqual([]);
    const read = readListenerObject(json, 'Listener l1');
    expect(read.problems).toEqual([]);
    const m = read.value!.filterChains[0]!.hcm.httpFilters.mixer!;
    expect(m).toMatchObject({ failPolicy: 'FAIL_CLOSE', maxRetry: 2, baseRetryWaitMs: 10, checkTimeoutMs: 250, reportBatchMaxTimeMs: 200, checkCacheMaxEntries: 500 });
    const port = m.mixerAttributes.find((a) => a.name === 'destination.port');
    expect(port?.value).toBe(9080);
  });
});
