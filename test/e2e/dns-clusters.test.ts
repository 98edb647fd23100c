// STRICT_DNS and LOGICAL_DNS clusters: names resolved by the proxy's agent
// through the cluster's own resolver (a DNS server on 127.0.0.1 that the test
// controls) or the system's (`localhost`), refreshed while the proxy runs.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, httpListener, request, startProxy, waitFor, type RunningProxy } from './harness.js';
import { startTestDnsServer, type TestDnsServer } from '../support/test-dns-server.js';

interface NamedServer {
  readonly address: string;
  readonly server: http.Server;
  hits: number;
}

/** An HTTP server on `address`:`port` answering its own address. */
async function serverOn(address: string, port: number): Promise<NamedServer> {
  const s: NamedServer = { address, hits: 0, server: http.createServer((_req, res) => {
    s.hits++;
    res.end(address);
  }) };
  await new Promise<void>((resolve, reject) => {
    s.server.once('error', reject);
    s.server.listen(port, address, resolve);
  });
  return s;
}

function close(s: NamedServer): Promise<void> {
  s.server.closeAllConnections();
  return new Promise((resolve) => s.server.close(() => resolve()));
}

function dnsCluster(name: string, type: string, host: string, port: number, dnsPort: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    type,
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
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }],
    },
    ...extra,
  };
}

function bootstrap(clusters: Record<string, unknown>[]): Record<string, unknown> {
  const routes = clusters.map((c) => ({ match: { prefix: `/${c.name as string}` }, route: { cluster: c.name, timeout: '5s' } }));
  return { static_resources: { listeners: [httpListener('ingress', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes }] })], clusters } };
}

/** Which servers answer `n` requests to `path`. */
async function answers(proxy: RunningProxy, path: string, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add((await request(proxy.port, path)).body);
  return seen;
}

describe.each([1, 2])('DNS clusters (--workers %i)', (workers) => {
  let dns: TestDnsServer;
  let one: NamedServer;
  let two: NamedServer;
  let port: number;
  let proxy: RunningProxy;

  beforeAll(async () => {
    dns = await startTestDnsServer();
    one = await serverOn('127.0.0.1', 0);
    port = (one.server.address() as AddressInfo).port;
    two = await serverOn('127.0.0.2', port);
    dns.set('backend.test.internal', { a: ['127.0.0.1', '127.0.0.2'], ttl: 1 });
    dns.set('logical.test.internal', { a: ['127.0.0.2', '127.0.0.1'] });
    proxy = await startProxy({
      accessLog: 'file',
      workers,
      bootstrap: bootstrap([
        dnsCluster('strict', 'STRICT_DNS', 'backend.test.internal', port, dns.port, { dns_refresh_rate: '0.2s', respect_dns_ttl: false }),
        dnsCluster('logical', 'LOGICAL_DNS', 'logical.test.internal', port, dns.port),
        dnsCluster('missing', 'STRICT_DNS', 'later.test.internal', port, dns.port, { dns_failure_refresh_rate: { base_interval: '0.2s', max_interval: '0.4s' } }),
        {
          name: 'local', type: 'STRICT_DNS', connect_timeout: '1s', dns_lookup_family: 'V4_ONLY',
          load_assignment: { cluster_name: 'local', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'localhost', port_value: port } } } }] }] },
        },
      ]),
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    await Promise.all([one, two].filter(Boolean).map(close));
    await dns?.close();
  }, 20_000);

  it('STRICT_DNS sends to every address of the name, and /clusters lists them with the hostname', async () => {
    expect(await answers(proxy, '/strict', 8)).toEqual(new Set(['127.0.0.1', '127.0.0.2']));
    const text = (await admin(proxy, '/clusters')).body;
    expect(text).toContain(`strict::127.0.0.1:${port}::hostname::backend.test.internal\n`);
    expect(text).toContain(`strict::127.0.0.2:${port}::hostname::backend.test.internal\n`);
  }, 20_000);

  it('LOGICAL_DNS uses the first address only', async () => {
    expect(await answers(proxy, '/logical', 6)).toEqual(new Set(['127.0.0.2']));
  }, 20_000);

  it('a system name (localhost) resolves through getaddrinfo', async () => {
    expect(await answers(proxy, '/local', 2)).toEqual(new Set(['127.0.0.1']));
  }, 20_000);

  it('a changed answer reaches the data plane at dns_refresh_rate, without a restart', async () => {
    dns.set('backend.test.internal', { a: ['127.0.0.2'], ttl: 1 });
    await waitFor('127.0.0.1 gone from /clusters', async () => !(await admin(proxy, '/clusters')).body.includes(`strict::127.0.0.1:${port}::`), 5_000);
    expect(await answers(proxy, '/strict', 6)).toEqual(new Set(['127.0.0.2']));
    dns.set('backend.test.internal', { a: ['127.0.0.1', '127.0.0.2'], ttl: 1 });
    await waitFor('127.0.0.1 back in /clusters', async () => (await admin(proxy, '/clusters')).body.includes(`strict::127.0.0.1:${port}::`), 5_000);
  }, 20_000);

  it('a name that does not resolve leaves the cluster empty (503, UH) and is retried at dns_failure_refresh_rate', async () => {
    const res = await request(proxy.port, '/missing');
    expect(res.status).toBe(503);
    expect(res.body).toContain('no healthy upstream');
    await waitFor('a UH access-log line', () => readFileSync(join(proxy.dir, 'access.log'), 'utf8').includes('"response_flags":"UH"'), 5_000);
    const before = dns.queries('later.test.internal');
    await waitFor('two retries of the missing name', () => dns.queries('later.test.internal') >= before + 2, 5_000);
    dns.set('later.test.internal', { a: ['127.0.0.1'] });
    await waitFor('the name resolved', async () => (await request(proxy.port, '/missing')).status === 200, 5_000);
    expect((await request(proxy.port, '/missing')).body).toBe('127.0.0.1');
  }, 20_000);

  it('a resolver that fails (SERVFAIL) keeps the last addresses', async () => {
    dns.set('backend.test.internal', 'servfail');
    const before = dns.queries('backend.test.internal');
    await waitFor('two SERVFAIL answers', () => dns.queries('backend.test.internal') >= before + 2, 5_000);
    expect(await answers(proxy, '/strict', 8)).toEqual(new Set(['127.0.0.1', '127.0.0.2']));
    dns.set('backend.test.internal', { a: ['127.0.0.1', '127.0.0.2'], ttl: 1 });
  }, 20_000);
});
