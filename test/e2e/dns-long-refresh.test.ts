// A refresh delay past what a Node timer holds (2^31-1 ms, about 24.8 days):
// a DNS server answering a TTL of ~35 days with respect_dns_ttl, or a config
// with a dns_refresh_rate of 30 days. Node fires such a timer after 1 ms, so
// the agent would query the resolver in a loop; it must wait instead.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, startProxy, type RunningProxy } from './harness.js';
import { startTestDnsServer, type TestDnsServer } from '../support/test-dns-server.js';

function dnsCluster(name: string, host: string, dnsPort: number, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    type: 'STRICT_DNS',
    connect_timeout: '1s',
    dns_lookup_family: 'V4_ONLY',
    typed_dns_resolver_config: {
      name: 'envoy.network.dns_resolver.cares',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig',
        resolvers: [{ socket_address: { address: '127.0.0.1', port_value: dnsPort } }],
      },
    },
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: 9 } } } }] }],
    },
    ...extra,
  };
}

describe('DNS refresh delays longer than a Node timer holds', () => {
  let dns: TestDnsServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    dns.set('ttl.test.internal', { a: ['127.0.0.1'], ttl: 3_000_000 });
    dns.set('rate.test.internal', { a: ['127.0.0.1'], ttl: 5 });
    const clusters = [
      dnsCluster('ttl', 'ttl.test.internal', dns.port, { respect_dns_ttl: true }),
      dnsCluster('rate', 'rate.test.internal', dns.port, { dns_refresh_rate: '2592000s' }),
    ];
    const routes = clusters.map((c) => ({ match: { prefix: `/${c.name as string}` }, route: { cluster: c.name, timeout: '5s' } }));
    proxy = await startProxy({
      bootstrap: { static_resources: { listeners: [httpListener('ingress', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes }] })], clusters } },
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await dns?.close();
  }, 20_000);

  it('a ~35-day TTL (respect_dns_ttl) and a 30-day dns_refresh_rate do not make the agent query in a loop', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    // One query at start (maybe a second if the first answer raced the start); a timer firing at 1 ms makes hundreds.
    expect(dns.queries('ttl.test.internal')).toBeLessThanOrEqual(3);
    expect(dns.queries('rate.test.internal')).toBeLessThanOrEqual(3);
  });
});
