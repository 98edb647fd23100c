// The DNS fields of STRICT_DNS / LOGICAL_DNS clusters as Envoy's docs write
// them: parsed values, Envoy's defaults, and each problem with its path.
import { describe, expect, it } from 'vitest';
import { parseParts, problemLines } from './bootstrap-text.js';

const C = 'static_resources.clusters[0]';
const CARES = 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig';

function named(host: string, port = 8080, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } }, ...extra } }] }] };
}

describe('DNS cluster fields', () => {
  it("reads a STRICT_DNS cluster with Envoy's defaults: AUTO, 5 s refresh, failures at the refresh rate, system resolver", () => {
    const c = parseParts({ cluster: { type: 'STRICT_DNS', load_assignment: named('backend.example.internal') } }).clusters[0]!;
    expect(c.type).toBe('STRICT_DNS');
    expect(c.endpoints).toEqual([]);
    expect(c.dns).toEqual({
      lookupFamily: 'AUTO', refreshRateMs: 5000, respectTtl: false, failureBaseMs: 5000, failureMaxMs: 5000, resolvers: [],
      targets: [{ name: 'backend.example.internal', port: 8080, weight: 1, locality: { region: '', zone: '', subZone: '' }, priority: 0, hostname: 'backend.example.internal' }],
    });
  });

  it('reads the refresh fields, a c-ares resolver and an endpoint hostname', () => {
    const c = parseParts({ cluster: {
      type: 'LOGICAL_DNS', dns_lookup_family: 'V4_ONLY', dns_refresh_rate: '2s', respect_dns_ttl: true,
      dns_failure_refresh_rate: { base_interval: '1s' },
      typed_dns_resolver_config: { name: 'envoy.network.dns_resolver.cares', typed_config: { '@type': CARES, resolvers: [{ socket_address: { address: '127.0.0.1', port_value: 5353 } }] } },
      load_assignment: named('api.example.internal', 443, { hostname: 'api.example.com' }),
    } }).clusters[0]!;
    expect(c.dns).toMatchObject({ lookupFamily: 'V4_ONLY', refreshRateMs: 2000, respectTtl: true, failureBaseMs: 1000, failureMaxMs: 10_000,
      resolvers: [{ address: '127.0.0.1', port: 5353 }] });
    expect(c.dns!.targets[0]).toMatchObject({ name: 'api.example.internal', port: 443, hostname: 'api.example.com' });
    const viaResolutionConfig = parseParts({ cluster: {
      type: 'STRICT_DNS', dns_resolution_config: { resolvers: [{ socket_address: { address: '::1', port_value: 53 } }] }, load_assignment: named('b.internal'),
    } }).clusters[0]!;
    expect(viaResolutionConfig.dns!.resolvers).toEqual([{ address: '::1', port: 53 }]);
  });

  it('names each mistake', () => {
    expect(problemLines({ cluster: { load_assignment: named('backend.internal') } })[0]).toMatch(
      /socket_address\.address must be an IP address literal \(no DNS names\): "backend\.internal"; a DNS name needs cluster type STRICT_DNS or LOGICAL_DNS$/,
    );
    expect(problemLines({ cluster: { dns_refresh_rate: '1s' } })[0]).toMatch(`${C}.dns_refresh_rate applies only to STRICT_DNS and LOGICAL_DNS clusters (type is STATIC)`);
    const two = { cluster_name: 'a', endpoints: [{ lb_endpoints: [1, 2].map((i) => ({ endpoint: { address: { socket_address: { address: `h${i}.internal`, port_value: 80 } } } })) }] };
    expect(problemLines({ cluster: { type: 'LOGICAL_DNS', load_assignment: two } })[0]).toMatch(
      `${C}.load_assignment.endpoints must hold exactly one endpoint in a LOGICAL_DNS cluster (has 2)`,
    );
    expect(problemLines({ cluster: { type: 'STRICT_DNS', dns_lookup_family: 'V5', load_assignment: named('b.internal') } })[0]).toMatch(`${C}.dns_lookup_family must be one of AUTO`);
    expect(problemLines({ cluster: { type: 'STRICT_DNS', typed_dns_resolver_config: { name: 'envoy.network.dns_resolver.getaddrinfo', typed_config: { '@type': CARES } }, load_assignment: named('b.internal') } })[0])
      .toMatch('typed_dns_resolver_config.name must be envoy.network.dns_resolver.cares (got "envoy.network.dns_resolver.getaddrinfo")');
    expect(problemLines({ cluster: { type: 'STRICT_DNS', load_assignment: named('bad_name!') } })[0]).toMatch('must be an IP address or a DNS name: "bad_name!"');
    expect(problemLines({ cluster: { type: 'STRICT_DNS', dns_failure_refresh_rate: { base_interval: '2s', max_interval: '1s' }, load_assignment: named('b.internal') } })[0])
      .toMatch('dns_failure_refresh_rate.max_interval must not be less than base_interval (2000 ms)');
  });
});
