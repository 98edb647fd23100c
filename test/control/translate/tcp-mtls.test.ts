// mTLS on TCP (tcp_proxy) ports in the translation (issue 12.4, 12.5): the
// inbound chains of a sidecar with a mesh identity by PeerAuthentication mode
// as Istio's filterchain_options.go builds them, the SNI that tells TCP from
// HTTP chains when a service has both, and auto mTLS on the client's TCP
// cluster (Istio's SNI and ALPN, plaintext towards a DISABLE workload).
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { FakeClock } from '../registry/fake-clock.js';
import { schemaProblems } from './envoy-schema.js';

type Json = any;
const MESH_LABEL = { 'security.istio.io/tlsMode': 'istio' };
const HOST = 'db.default.svc.cluster.local';

const dbProxy: ProxyIdentity = { id: 'db-1', namespace: 'default', service: HOST, labels: { app: 'db', ...MESH_LABEL }, appPort: 3306 };
const client: ProxyIdentity = { id: 'client-1', namespace: 'default', service: 'client', labels: { app: 'client', ...MESH_LABEL } };

function setup(ports: string, extra = '') {
  const resources = parseResources(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: ${ports}
  workloadSelector: {labels: {app: db}}
${extra}`, 'db.yaml');
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  registry.register({
    id: 'db-1', service: 'db', namespace: 'default', address: '127.0.0.1', appPort: 15006, servicePort: 3306,
    serviceAccount: 'db', labels: { app: 'db', ...MESH_LABEL },
  });
  return { registry, config: createMeshConfig(resources) };
}

const inbound = (yaml: { registry: ServiceRegistry; config: ReturnType<typeof createMeshConfig> }): Json =>
  translateForProxy(dbProxy, yaml.config, yaml.registry).listeners.find((l) => (l as Json).name === 'inbound');
const names = (l: Json): string[] => l.filter_chains.map((c: Json) => c.name);
const TCP_ONLY = '[{number: 3306, name: tcp-db}]';
const paYaml = (mode: string): string => `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: ${mode}}}
`;

describe('inbound mTLS on TCP ports', () => {
  it('PERMISSIVE: mTLS for TLS offering an Istio ALPN, plaintext, and other TLS passed through, each to the tcp_proxy', () => {
    const l = inbound(setup(TCP_ONLY));
    expect(names(l)).toEqual(['inbound-mtls-tcp', 'inbound-plaintext-tcp', 'inbound-tls-passthrough']);
    expect(l.listener_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    const [mtls, plain, passthrough] = l.filter_chains;
    expect(mtls.filter_chain_match).toEqual({ transport_protocol: 'tls', application_protocols: ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'] });
    const tls = mtls.transport_socket.typed_config;
    expect(tls.require_client_certificate).toEqual({ value: true });
    expect(tls.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('default');
    for (const c of [mtls, plain, passthrough]) expect(c.filters[0].name).toBe('envoy.filters.network.tcp_proxy');
    expect(plain.filter_chain_match).toEqual({ transport_protocol: 'raw_buffer' });
    expect(passthrough.transport_socket).toBeUndefined();
    expect(schemaProblems('envoy.config.listener.v3.Listener', l)).toEqual([]);
  });

  it('STRICT: only the mTLS chain (any TLS, terminated and verified); DISABLE: one plaintext chain and no inspector', () => {
    const strict = inbound(setup(TCP_ONLY, paYaml('STRICT')));
    expect(names(strict)).toEqual(['inbound-mtls-tcp']);
    expect(strict.filter_chains[0].filter_chain_match).toEqual({ transport_protocol: 'tls' });
    const disabled = inbound(setup(TCP_ONLY, paYaml('DISABLE')));
    expect(names(disabled)).toEqual(['inbound-plaintext-tcp']);
    expect(disabled.filter_chains[0].filter_chain_match).toBeUndefined();
    expect(disabled.listener_filters).toBeUndefined();
  });

  it('HTTP and TCP ports on one inbound port: the mTLS TCP chain is told by the client sidecar\'s SNI (every subset), plaintext by the http_inspector', () => {
    const l = inbound(setup('[{number: 8080, name: http-api}, {number: 3306, name: tcp-db}]', `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: db, namespace: default}
spec:
  host: ${HOST}
  subsets: [{name: v1, labels: {version: v1}}]
`));
    expect(names(l)).toEqual(['inbound-mtls-tcp', 'inbound-mtls-http', 'inbound-plaintext-http', 'inbound-plaintext-tcp']);
    expect(l.listener_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.listener.tls_inspector', 'envoy.filters.listener.http_inspector']);
    expect(l.filter_chains[0].filter_chain_match.server_names).toEqual([`outbound_.3306_._.${HOST}`, `outbound_.3306_.v1_.${HOST}`]);
    expect(l.filter_chains[1].filters[0].typed_config.forward_client_cert_details).toBe('APPEND_FORWARD');
    expect(l.filter_chains[2].filter_chain_match).toEqual({ transport_protocol: 'raw_buffer', application_protocols: ['http/1.0', 'http/1.1', 'h2c'] });
    expect(schemaProblems('envoy.config.listener.v3.Listener', l)).toEqual([]);
  });
});

describe('outbound auto mTLS on a TCP cluster', () => {
  const tcpCluster = (s: ReturnType<typeof setup>): Json =>
    translateForProxy(client, s.config, s.registry).clusters.find((c) => (c as Json).name === `outbound|3306||${HOST}`);

  it('originates mTLS with Istio\'s SNI and ALPN and checks the SPIFFE ID; plaintext to a workload whose PeerAuthentication says DISABLE', () => {
    const tls = tcpCluster(setup(TCP_ONLY)).transport_socket.typed_config;
    expect(tls.sni).toBe(`outbound_.3306_._.${HOST}`);
    expect(tls.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
    expect(tls.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names)
      .toEqual([{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/db' } }]);
    expect(tcpCluster(setup(TCP_ONLY, `${paYaml('STRICT')}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: db, namespace: default}
spec:
  selector: {matchLabels: {app: db}}
  mtls: {mode: DISABLE}
`)).transport_socket).toBeUndefined();
  });
});
