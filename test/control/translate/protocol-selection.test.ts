// Protocol selection as Istio does it, from ServiceEntry ports to the sidecar's
// inbound listener: `tcp-db` (name prefix) gets a tcp_proxy chain, `grpc-api`
// an HTTP one, a port with no declared protocol a sniffed pair of chains
// (http_inspector); `appProtocol` and `protocol` win over the name; the result
// passes the Envoy proto schema; and
// `isthmus analyze` warns about the undeclared port.
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { protocolFromPortName } from '../../../control/config/port-protocol.js';
import { analyzeResources } from '../../../control/config/analyze.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { FakeClock } from '../registry/fake-clock.js';
import { schemaProblems } from './envoy-schema.js';

type Json = any;

function entry(ports: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
${ports}
  workloadSelector:
    labels: {app: db}
`;
}

const proxy: ProxyIdentity = { id: 'db-1', namespace: 'default', service: 'db', labels: { app: 'db' }, appPort: 7000, inboundPort: 25006 };

function inboundFor(yaml: string): Json {
  const resources = parseResources(yaml, 'db.yaml');
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const out = translateForProxy(proxy, createMeshConfig(resources), registry);
  const inbound: Json = out.listeners.find((l: Json) => l.name === 'inbound');
  expect(schemaProblems('envoy.config.listener.v3.Listener', inbound)).toEqual([]);
  return inbound;
}

const networkFilter = (chain: Json): string => chain.filters[0].name;

describe('protocol selection', () => {
  it('reads the protocol from the name prefix as Istio does', () => {
    expect(protocolFromPortName('tcp-db')).toBe('TCP');
    expect(protocolFromPortName('grpc-api')).toBe('GRPC');
    expect(protocolFromPortName('grpc-web-ui')).toBe('GRPC-WEB');
    expect(protocolFromPortName('http2')).toBe('HTTP2');
    expect(protocolFromPortName('mysql-main')).toBe('MYSQL');
    expect(protocolFromPortName('httpbin')).toBeUndefined();
    expect(protocolFromPortName('db')).toBeUndefined();
  });

  it('tcp-db gets a tcp_proxy chain and grpc-api an HTTP one, chosen by sniffing on the one inbound port', () => {
    const inbound = inboundFor(entry('  - {number: 5432, name: tcp-db}\n  - {number: 9090, name: grpc-api}'));
    expect(inbound.listener_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.listener.http_inspector']);
    expect(inbound.continue_on_listener_filters_timeout).toBe(true);
    const [http, tcp] = inbound.filter_chains;
    expect(networkFilter(http)).toBe('envoy.filters.network.http_connection_manager');
    expect(http.filter_chain_match.application_protocols).toEqual(['http/1.0', 'http/1.1', 'h2c']);
    expect(http.filters[0].typed_config.route_config.virtual_hosts.map((v: Json) => v.name)).toEqual(['inbound|http|9090']);
    expect(http.filters[0].typed_config.upgrade_configs).toEqual([{ upgrade_type: 'websocket' }]);
    expect(networkFilter(tcp)).toBe('envoy.filters.network.tcp_proxy');
    expect(tcp.filters[0].typed_config.cluster).toBe('inbound|5432||');
  });

  it('TCP ports only: one tcp_proxy chain, no listener filter', () => {
    const inbound = inboundFor(entry('  - {number: 3306, name: mysql}'));
    expect(inbound.listener_filters).toBeUndefined();
    expect(inbound.filter_chains.map(networkFilter)).toEqual(['envoy.filters.network.tcp_proxy']);
  });

  it('HTTP ports only: the HTTP connection manager alone, as before', () => {
    const inbound = inboundFor(entry('  - {number: 8080, name: web, protocol: HTTP}'));
    expect(inbound.listener_filters).toBeUndefined();
    expect(inbound.filter_chains.map(networkFilter)).toEqual(['envoy.filters.network.http_connection_manager']);
  });

  it('appProtocol and protocol win over the name', () => {
    const a = inboundFor(entry('  - {number: 5432, name: http-looking, appProtocol: tcp}'));
    expect(a.filter_chains.map(networkFilter)).toEqual(['envoy.filters.network.tcp_proxy']);
    const b = inboundFor(entry('  - {number: 5432, name: tcp-looking, protocol: HTTP}'));
    expect(b.filter_chains.map(networkFilter)).toEqual(['envoy.filters.network.http_connection_manager']);
  });

  it('an undeclared port is sniffed (both chains to it), and analyze warns about it', () => {
    const yaml = entry('  - {number: 7000, name: web}');
    const inbound = inboundFor(yaml);
    expect(inbound.filter_chains.map(networkFilter)).toEqual(['envoy.filters.network.http_connection_manager', 'envoy.filters.network.tcp_proxy']);
    expect(inbound.filter_chains[1].filters[0].typed_config.cluster).toBe('inbound|7000||');
    const problems = analyzeResources(parseResources(yaml, 'db.yaml'));
    expect(problems.map((p) => `${p.severity}: ${p.message}`)).toEqual([
      expect.stringMatching(/^warning: spec\.ports\[0\] \(7000, "web"\) declares no protocol.*IST0118/),
    ]);
  });
});
