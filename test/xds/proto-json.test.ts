// Decoded protobuf (as proto-loader gives it) → the proto3 JSON shape the
// bootstrap readers take: wrappers unwrapped, Anys unpacked with their @type,
// nested messages and maps followed, oneof names dropped.
import { describe, expect, it } from 'vitest';
import { ProtoJson } from '../../src/xds/proto-json.js';
import { loadXdsProtos, messageNameOf, TYPE_URL } from '../../src/xds/xds-protos.js';
import { HCM_TYPE, listener } from '../control/xds/xds-fixtures.js';

const protos = loadXdsProtos();
const protoJson = new ProtoJson(protos.packageDefinition);

/** What the ADS client receives: the resource serialized as the server sends it, decoded by proto-loader. */
function roundTrip(typeUrl: string, value: object): Record<string, unknown> {
  const type = protos.messageType(messageNameOf(typeUrl))!;
  return protoJson.resourceToJson({ type_url: typeUrl, value: type.serialize(value) });
}

describe('ProtoJson', () => {
  it('unwraps wrapper types and drops the oneof names proto-loader adds', () => {
    const json = roundTrip(TYPE_URL.ENDPOINT, {
      cluster_name: 'a',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 80 } } }, load_balancing_weight: { value: 3 } }] }],
    });
    expect(json).toEqual({
      cluster_name: 'a',
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 80 } } }, load_balancing_weight: 3 }] }],
    });
  });

  it('gives an empty wrapper its default and follows nested message types', () => {
    const json = roundTrip(TYPE_URL.ROUTE, {
      name: 'r',
      virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/', case_sensitive: { value: false } }, route: { cluster: 'a', timeout: { seconds: '3', nanos: 5 } } }] }],
    });
    const route = (json.virtual_hosts as { routes: unknown[] }[])[0]!.routes[0];
    expect(route).toEqual({ match: { prefix: '/', case_sensitive: false }, route: { cluster: 'a', timeout: { seconds: '3', nanos: 5 } } });
  });

  it('unpacks an Any into @type and its fields (the HCM inside a listener)', () => {
    const hcmType = protos.messageType(messageNameOf(HCM_TYPE))!;
    const source = listener('l1', 15001, 'r1') as { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] };
    const { '@type': _type, http_filters: _filters, ...hcmFields } = source.filter_chains[0]!.filters[0]!.typed_config;
    source.filter_chains[0]!.filters[0]!.typed_config = { type_url: HCM_TYPE, value: hcmType.serialize(hcmFields) } as never;
    const json = roundTrip(TYPE_URL.LISTENER, source);
    const typed = (json.filter_chains as { filters: { typed_config: unknown }[] }[])[0]!.filters[0]!.typed_config;
    expect(typed).toEqual({
      '@type': HCM_TYPE,
      stat_prefix: 'l1',
      rds: { route_config_name: 'r1', config_source: { ads: {}, resource_api_version: 'V3' } },
    });
    expect(json['@type']).toBeUndefined();
  });

  it('keeps an Any of a type it did not load opaque, so the readers name it', () => {
    const json = protoJson.resourceToJson({ type_url: 'type.googleapis.com/not.Loaded', value: Buffer.from([8, 1]) });
    expect(json).toEqual({});
    const nested = roundTrip(TYPE_URL.LISTENER, { name: 'l', filter_chains: [{ filters: [{ name: 'x', typed_config: { type_url: 'type.googleapis.com/x.Y', value: Buffer.from([8, 1]) } }] }] });
    expect((nested.filter_chains as { filters: unknown[] }[])[0]!.filters[0]).toEqual({ name: 'x', typed_config: { '@type': 'type.googleapis.com/x.Y' } });
  });
});
