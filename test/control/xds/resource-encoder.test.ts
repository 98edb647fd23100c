import { describe, expect, it } from 'vitest';
import { encodeResource, ResourceError } from '../../../control/xds/resource-encoder.js';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { decodeAny } from './ads-test-client.js';
import { cluster, HCM_TYPE, listener, ROUTER_TYPE } from './xds-fixtures.js';

function problemOf(typeUrl: string, resource: object): string {
  try {
    encodeResource(typeUrl, resource);
  } catch (error) {
    expect(error).toBeInstanceOf(ResourceError);
    return (error as Error).message;
  }
  throw new Error('expected a ResourceError');
}

describe('encodeResource', () => {
  it('packs nested Any fields and round-trips through the protos', () => {
    const encoded = encodeResource(TYPE_URL.LISTENER, listener('l1', 15001, 'r1'));
    expect(encoded.name).toBe('l1');
    expect(encoded.version).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const decoded = decodeAny({ type_url: TYPE_URL.LISTENER, value: encoded.bytes }) as any;
    const typed = decoded.filter_chains[0].filters[0].typed_config;
    expect(typed.type_url).toBe(HCM_TYPE);
    const hcm = decodeAny(typed) as any;
    expect(hcm.rds.route_config_name).toBe('r1');
    expect(hcm.http_filters[0].typed_config.type_url).toBe(ROUTER_TYPE);
  });

  it('accepts Struct values in snake_case like every other field', () => {
    const withMetadata = { ...cluster('a'), metadata: { filter_metadata: { istio: { fields: { subset: { string_value: 'v1' } } } } } };
    const decoded = decodeAny({ type_url: TYPE_URL.CLUSTER, value: encodeResource(TYPE_URL.CLUSTER, withMetadata).bytes }) as any;
    expect(decoded.metadata.filter_metadata.istio.fields.subset.stringValue).toBe('v1');
  });

  it('gives the same version for the same content and a different one otherwise', () => {
    const a = encodeResource(TYPE_URL.CLUSTER, cluster('a'));
    expect(encodeResource(TYPE_URL.CLUSTER, cluster('a')).version).toBe(a.version);
    expect(encodeResource(TYPE_URL.CLUSTER, { ...cluster('a'), lb_policy: 'RANDOM' }).version).not.toBe(a.version);
  });

  it('names the resource and the field of an unknown field', () => {
    expect(problemOf(TYPE_URL.CLUSTER, { ...cluster('reviews'), conect_timeout: { seconds: '1' } })).toBe(
      'Cluster "reviews": field conect_timeout: unknown field of envoy.config.cluster.v3.Cluster',
    );
  });

  it('names the path of a wrong type deep inside, and inside an Any', () => {
    const bad = listener('l1', 15001, 'r1') as any;
    bad.address.socket_address.port_value = 'http';
    bad.filter_chains[0].filters[0].typed_config.rds.route_config_nam = 'x';
    const message = problemOf(TYPE_URL.LISTENER, bad);
    expect(message).toContain('Listener "l1": field address.socket_address.port_value: expected uint32, got string "http"');
    expect(message).toContain(
      'field filter_chains[0].filters[0].typed_config.rds.route_config_nam: unknown field of envoy.extensions.filters.network.http_connection_manager.v3.Rds',
    );
  });

  it('rejects bad enums, unknown Any types and missing names', () => {
    expect(problemOf(TYPE_URL.CLUSTER, { ...cluster('a'), lb_policy: 'FASTEST' })).toContain(
      'field lb_policy: expected one of envoy.config.cluster.v3.Cluster.LbPolicy',
    );
    const unknownAny = listener('l1', 1, 'r1') as any;
    unknownAny.filter_chains[0].filters[0].typed_config['@type'] = 'type.googleapis.com/no.such.Filter';
    expect(problemOf(TYPE_URL.LISTENER, unknownAny)).toContain(
      "typed_config['@type']: type.googleapis.com/no.such.Filter is not a message this control plane loads",
    );
    expect(problemOf(TYPE_URL.ENDPOINT, { endpoints: [] })).toContain('field cluster_name must be a non-empty string');
    expect(problemOf(TYPE_URL.CLUSTER, { ...cluster('a'), connect_timeout: '1s' })).toContain(
      'field connect_timeout: expected an object (google.protobuf.Duration), got string "1s"',
    );
  });
});
