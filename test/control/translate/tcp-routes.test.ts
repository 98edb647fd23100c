// VirtualService tcp and tls rules, translated into the sidecar's outbound
// TCP listeners: a weighted tcp route becomes weighted_clusters on the port's
// tcp_proxy, tls rules become chains by SNI behind the tls_inspector (TLS
// passed through), a TCP port without rules goes to its own cluster, and
// destinationSubnets is refused by name.
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { ConfigError } from '../../../src/config/config-error.js';
import { FakeClock } from '../registry/fake-clock.js';
import { schemaProblems } from './envoy-schema.js';

type Json = any;

const MESH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 15432, name: tcp-db}]
  endpoints: [{address: 127.0.0.1, labels: {version: v1}}, {address: 127.0.0.2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: db.default.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  tcp:
  - match: [{port: 15432}]
    route:
    - {destination: {host: db.default.svc.cluster.local, subset: v1}, weight: 80}
    - {destination: {host: db.default.svc.cluster.local, subset: v2}, weight: 20}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{number: 18443, name: tls}]
  endpoints: [{address: 127.0.0.3}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache, namespace: default}
spec:
  hosts: [cache.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 16379, name: redis}]
  endpoints: [{address: 127.0.0.4}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: default}
spec:
  hosts: [api.example.com]
  tls:
  - match: [{port: 18443, sniHosts: [api.example.com]}]
    route: [{destination: {host: api.example.com, port: {number: 18443}}}]
`;

const client: ProxyIdentity = { id: 'c-1', namespace: 'default', labels: { app: 'client' } };

function outbound(yaml: string): Json[] {
  const resources = parseResources(yaml, 'mesh.yaml');
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const out = translateForProxy(client, createMeshConfig(resources), registry);
  for (const l of out.listeners) expect(schemaProblems('envoy.config.listener.v3.Listener', l)).toEqual([]);
  const clusters = new Set(out.clusters.map((c: Json) => c.name));
  // Every cluster a chain names is sent to the proxy.
  for (const l of out.listeners as Json[]) {
    for (const chain of l.filter_chains) {
      const tc = chain.filters[0].typed_config;
      for (const name of tc.cluster !== undefined ? [tc.cluster] : (tc.weighted_clusters?.clusters ?? []).map((c: Json) => c.name)) {
        if (chain.filters[0].name === 'envoy.filters.network.tcp_proxy') expect(clusters.has(name)).toBe(true);
      }
    }
  }
  return out.listeners as Json[];
}

describe('VirtualService tcp and tls routes', () => {
  it('a weighted tcp route becomes the weighted_clusters of the port listener', () => {
    const db = outbound(MESH).find((l) => l.name === 'outbound_tcp_15432');
    expect(db.address.socket_address).toMatchObject({ address: '127.0.0.1', port_value: 15432 });
    expect(db.filter_chains).toHaveLength(1);
    expect(db.filter_chains[0].filters[0].typed_config.weighted_clusters.clusters).toEqual([
      { name: 'outbound|15432|v1|db.default.svc.cluster.local', weight: 80 },
      { name: 'outbound|15432|v2|db.default.svc.cluster.local', weight: 20 },
    ]);
  });

  it('tls rules become SNI chains behind the tls_inspector', () => {
    const api = outbound(MESH).find((l) => l.name === 'outbound_tcp_18443');
    expect(api.listener_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    expect(api.filter_chains).toEqual([{
      filter_chain_match: { server_names: ['api.example.com'] },
      filters: [{ name: 'envoy.filters.network.tcp_proxy', typed_config: expect.objectContaining({ cluster: 'outbound|18443||api.example.com' }) }],
    }]);
  });

  it('a TCP port without rules goes to its own cluster; HTTP ports get no TCP listener', () => {
    const listeners = outbound(MESH);
    const cache = listeners.find((l) => l.name === 'outbound_tcp_16379');
    expect(cache.filter_chains[0].filters[0].typed_config.cluster).toBe('outbound|16379||cache.default.svc.cluster.local');
    expect(listeners.map((l) => l.name)).toEqual(['outbound', 'outbound_tcp_15432', 'outbound_tcp_16379', 'outbound_tcp_18443']);
  });

  it('refuses destinationSubnets by name, with the line', () => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - match: [{destinationSubnets: [10.0.0.0/8]}]
    route: [{destination: {host: db}}]
`;
    expect(() => parseResources(yaml, 'vs.yaml')).toThrow(ConfigError);
    try {
      parseResources(yaml, 'vs.yaml');
    } catch (err) {
      expect(String((err as Error).message)).toMatch(/vs\.yaml:7.*destinationSubnets is not supported/);
    }
  });
});
