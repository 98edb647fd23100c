// The HTTP protocol a sidecar speaks to a service's endpoints, chosen from the
// port as Istio chooses it, with no DestinationRule needed: grpc, grpc-web and
// http2 ports (by name prefix, appProtocol or a ServiceEntry's protocol) get
// HTTP/2 upstream clusters, outbound and inbound, and ALPN h2 on the mTLS
// between sidecars; http ports stay HTTP/1.1 unless h2UpgradePolicy (the
// DestinationRule's, else the mesh's) says UPGRADE; an undeclared (sniffed)
// port follows the downstream's protocol. What the proxy gets fits Envoy's
// protos and its own cluster reader.
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type MeshOptions, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { upstreamHttpProtocol } from '../../../control/translate/upstream-protocol.js';
import { encodeResource } from '../../../control/xds/resource-encoder.js';
import { readClusterObject } from '../../../src/config/parse-resource-object.js';
import { ProtoJson } from '../../../src/xds/proto-json.js';
import { loadXdsProtos, TYPE_URL } from '../../../src/xds/xds-protos.js';
import { validateXdsResource } from '../../../src/xds/xds-resources.js';
import { FakeClock } from '../registry/fake-clock.js';
import { schemaProblems } from './envoy-schema.js';

type Json = any;

const HOST = 'api.default.svc.cluster.local';
const OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const MESH_LABEL = 'security.istio.io/tlsMode: istio';

const ENTRY = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9090, name: grpc-api}
  - {number: 9091, name: http2}
  - {number: 9092, name: grpc-web-ui}
  - {number: 9093, name: api, appProtocol: grpc}
  - {number: 9094, name: rpc, protocol: GRPC}
  - {number: 8080, name: http-web}
  - {number: 8081, name: web}
  - {number: 5432, name: tcp-db}
  workloadSelector: {labels: {app: api}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: api-1, namespace: default}
spec:
  address: 127.0.0.1
  labels: {app: api, ${MESH_LABEL}}
  serviceAccount: api
`;

const client: ProxyIdentity = { id: 'client-1', namespace: 'default', service: 'client', labels: { app: 'client', 'security.istio.io/tlsMode': 'istio' } };
const server: ProxyIdentity = {
  id: 'api-1', namespace: 'default', service: 'api', labels: { app: 'api', 'security.istio.io/tlsMode': 'istio' }, appPort: 7000, inboundPort: 25006,
};

function translate(yaml: string, proxy: ProxyIdentity, options: Partial<MeshOptions> = {}): { clusters: Map<string, Json>; listeners: Json[] } {
  const resources = parseResources(yaml, 'api.yaml');
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const out = translateForProxy(proxy, createMeshConfig(resources, options), registry);
  return { clusters: new Map(out.clusters.map((c: Json) => [c.name as string, c])), listeners: out.listeners as Json[] };
}

const outbound = (port: number): string => `outbound|${port}||${HOST}`;
/** The cluster's protocol oneof: which of explicit h1/h2 or use_downstream it says, or 'none' (HTTP/1.1 for an HTTP cluster). */
function protocolOf(cluster: Json): string {
  const options = cluster.typed_extension_protocol_options?.[OPTIONS];
  if (options === undefined) return 'none';
  if (options.use_downstream_protocol_config !== undefined) return 'downstream';
  return options.explicit_http_config.http2_protocol_options !== undefined ? 'h2' : 'http/1.1';
}

const protoJson = new ProtoJson(loadXdsProtos().packageDefinition);

/** Encoded as the ADS server sends it, decoded and read by the sidecar's cluster reader (EDS endpoints left empty). */
function asProxyReadsIt(cluster: Json): Json {
  const json: Json = protoJson.resourceToJson({ type_url: TYPE_URL.CLUSTER, value: encodeResource(TYPE_URL.CLUSTER, cluster).bytes });
  expect(validateXdsResource(TYPE_URL.CLUSTER, json)).toEqual([]);
  const { eds_cluster_config: _eds, type: _type, load_assignment: _la, ...rest } = json;
  const result = readClusterObject({ ...rest, type: 'STATIC', load_assignment: { cluster_name: json.name, endpoints: [] } }, 'Cluster');
  expect(result.problems).toEqual([]);
  return result.value;
}

const rule = (http: string, portLevel = ''): string => `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: ${HOST}
  trafficPolicy:
    connectionPool:
      http: ${http}
${portLevel}`;

describe('upstream protocol from the service port, as Istio selects it', () => {
  it('grpc, http2, grpc-web ports (by name, appProtocol or protocol) get HTTP/2 clusters with no DestinationRule; http stays HTTP/1.1', () => {
    const { clusters } = translate(ENTRY, client);
    const by = Object.fromEntries([9090, 9091, 9092, 9093, 9094, 8080, 8081, 5432].map((p) => [p, protocolOf(clusters.get(outbound(p)))]));
    expect(by).toEqual({ 9090: 'h2', 9091: 'h2', 9092: 'h2', 9093: 'h2', 9094: 'h2', 8080: 'none', 8081: 'downstream', 5432: 'none' });
    for (const port of [9090, 8081]) {
      const cluster = clusters.get(outbound(port));
      expect(schemaProblems('envoy.config.cluster.v3.Cluster', cluster)).toEqual([]);
    }
    expect(asProxyReadsIt(clusters.get(outbound(9090)))).toMatchObject({ upstreamProtocol: 'HTTP2' });
    expect(asProxyReadsIt(clusters.get(outbound(8081)))).toMatchObject({ upstreamProtocol: 'DOWNSTREAM' });
  });

  it('mTLS between sidecars offers h2 by ALPN on HTTP/2 clusters only, and the inbound HTTP chain selects it', () => {
    const { clusters } = translate(ENTRY, client);
    const alpn = (port: number): string[] => clusters.get(outbound(port)).transport_socket.typed_config.common_tls_context.alpn_protocols;
    expect(alpn(9090)).toEqual(['istio-peer-exchange', 'istio', 'h2']);
    expect(alpn(8080)).toEqual(['istio-peer-exchange', 'istio']);
    const inbound = translate(ENTRY.replace(/ {2}- \{number: 5432, name: tcp-db\}\n/, ''), server).listeners.find((l) => l.name === 'inbound');
    const mtls = inbound.filter_chains.find((c: Json) => c.filter_chain_match?.transport_protocol === 'tls');
    expect(mtls.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
    expect(schemaProblems('envoy.config.listener.v3.Listener', inbound)).toEqual([]);
  });

  it('the inbound listener\'s HTTP mTLS chain beside a TCP port offers h2 too', () => {
    const inbound = translate(ENTRY, server).listeners.find((l) => l.name === 'inbound');
    const http = inbound.filter_chains.find((c: Json) => c.name === 'inbound-mtls-http');
    expect(http.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(['h2', 'http/1.1']);
  });

  it('inbound clusters to the app speak HTTP/2 to grpc and http2 ports, HTTP/1.1 to http ones, the caller\'s protocol to sniffed ones', () => {
    const { clusters } = translate(ENTRY, server);
    const by = Object.fromEntries([9090, 9091, 9094, 8080, 8081, 5432].map((p) => [p, protocolOf(clusters.get(`inbound|${p}||`))]));
    expect(by).toEqual({ 9090: 'h2', 9091: 'h2', 9094: 'h2', 8080: 'none', 8081: 'downstream', 5432: 'none' });
    expect(schemaProblems('envoy.config.cluster.v3.Cluster', clusters.get('inbound|9090||'))).toEqual([]);
    expect(asProxyReadsIt(clusters.get('inbound|9090||'))).toMatchObject({ upstreamProtocol: 'HTTP2' });
  });

  it('h2UpgradePolicy: UPGRADE upgrades http ports, DO_NOT_UPGRADE keeps them HTTP/1.1 and cannot downgrade a grpc port', () => {
    expect(protocolOf(translate(ENTRY + rule('{h2UpgradePolicy: UPGRADE}'), client).clusters.get(outbound(8080)))).toBe('h2');
    const kept = translate(ENTRY + rule('{h2UpgradePolicy: DO_NOT_UPGRADE}'), client).clusters;
    expect(protocolOf(kept.get(outbound(8080)))).toBe('none'); // no options: HTTP/1.1
    expect(protocolOf(kept.get(outbound(9090)))).toBe('h2');
    // The mesh's policy applies where no rule speaks; a rule's DO_NOT_UPGRADE wins over it, for its port only.
    const mesh = translate(ENTRY + rule('{idleTimeout: 60s}', `    portLevelSettings:
    - port: {number: 8080}
      connectionPool:
        http: {h2UpgradePolicy: DO_NOT_UPGRADE}
`), client, { h2UpgradePolicy: 'UPGRADE' }).clusters;
    expect(protocolOf(mesh.get(outbound(8080)))).toBe('none');
    expect(protocolOf(mesh.get(outbound(8081)))).toBe('downstream');
    expect(protocolOf(translate(ENTRY, client, { h2UpgradePolicy: 'UPGRADE' }).clusters.get(outbound(8080)))).toBe('h2');
    // Inbound clusters are never upgraded (as Istio's shouldH2Upgrade).
    expect(protocolOf(translate(ENTRY, server, { h2UpgradePolicy: 'UPGRADE' }).clusters.get('inbound|8080||'))).toBe('none');
  });

  it('a DestinationRule\'s h2UpgradePolicy: UPGRADE upgrades a sniffed port too (the author says it is HTTP), the mesh\'s does not', () => {
    // Istio's shouldH2Upgrade: the rule's UPGRADE wins before the port's protocol is looked at; sniffed ports are
    // named in its comment as the case for it. Before, the rule was dropped there: the cluster followed the caller.
    const upgraded = translate(ENTRY + rule('{h2UpgradePolicy: UPGRADE}'), client).clusters;
    expect(protocolOf(upgraded.get(outbound(8081)))).toBe('h2');
    expect(protocolOf(translate(ENTRY, client, { h2UpgradePolicy: 'UPGRADE' }).clusters.get(outbound(8081)))).toBe('downstream');
    const upgrade = { connectionPool: { http: { h2UpgradePolicy: 'UPGRADE' } } } as const;
    const gateway = { policy: upgrade, meshUpgrade: 'DO_NOT_UPGRADE', direction: 'outbound', sidecar: false } as const;
    expect(upstreamHttpProtocol({ ...gateway, portProtocol: 'UNKNOWN' })).toBe('HTTP2');
    expect(upstreamHttpProtocol({ ...gateway, sidecar: true, portProtocol: 'UNKNOWN' })).toBe('HTTP2');
    // Inbound clusters follow the caller whatever a rule says (Istio never upgrades inbound).
    expect(upstreamHttpProtocol({ ...gateway, sidecar: true, direction: 'inbound', portProtocol: 'UNKNOWN' })).toBe('DOWNSTREAM');
  });

  it('useClientProtocol: true makes http and sniffed ports follow the caller\'s protocol, on gateways too; h2 upgrades and grpc ports still win', () => {
    // Before, the field was refused as unknown: a valid Istio DestinationRule was rejected whole.
    const { clusters } = translate(ENTRY + rule('{useClientProtocol: true}'), client);
    const by = Object.fromEntries([9090, 8080, 8081, 5432].map((p) => [p, protocolOf(clusters.get(outbound(p)))]));
    expect(by).toEqual({ 9090: 'h2', 8080: 'downstream', 8081: 'downstream', 5432: 'none' });
    expect(schemaProblems('envoy.config.cluster.v3.Cluster', clusters.get(outbound(8080)))).toEqual([]);
    expect(asProxyReadsIt(clusters.get(outbound(8080)))).toMatchObject({ upstreamProtocol: 'DOWNSTREAM' });
    // An h2 upgrade (the rule's or the mesh's) is applied after it in Istio, so it wins; DO_NOT_UPGRADE leaves it be.
    expect(protocolOf(translate(ENTRY + rule('{useClientProtocol: true, h2UpgradePolicy: UPGRADE}'), client).clusters.get(outbound(8080)))).toBe('h2');
    expect(protocolOf(translate(ENTRY + rule('{useClientProtocol: true}'), client, { h2UpgradePolicy: 'UPGRADE' }).clusters.get(outbound(8080)))).toBe('h2');
    expect(protocolOf(translate(ENTRY + rule('{useClientProtocol: true, h2UpgradePolicy: DO_NOT_UPGRADE}'), client).clusters.get(outbound(8080)))).toBe('downstream');
    expect(protocolOf(translate(ENTRY + rule('{useClientProtocol: false}'), client).clusters.get(outbound(8080)))).toBe('none');
    // A gateway does not follow the caller on a sniffed port by itself, but does when the rule asks (Istio's comment says so).
    const gateway = { policy: { connectionPool: { http: { useClientProtocol: true } } }, meshUpgrade: 'DO_NOT_UPGRADE', direction: 'outbound', sidecar: false } as const;
    expect(upstreamHttpProtocol({ ...gateway, portProtocol: 'UNKNOWN' })).toBe('DOWNSTREAM');
    expect(upstreamHttpProtocol({ ...gateway, portProtocol: undefined })).toBe('DOWNSTREAM');
    expect(upstreamHttpProtocol({ ...gateway, portProtocol: 'TCP' })).toBeUndefined();
  });

  it('useClientProtocol must be a boolean: the rule is refused with its file, line and field', () => {
    expect(() => translate(ENTRY + rule('{useClientProtocol: sometimes}'), client)).toThrow(/api\.yaml:\d+.*useClientProtocol/s);
  });

  it('a gateway does not follow the downstream\'s protocol on a sniffed port (it offers h2 to every client), but speaks h2 to grpc ports', () => {
    const gateway = { policy: {}, meshUpgrade: 'DO_NOT_UPGRADE', direction: 'outbound', sidecar: false } as const;
    expect(upstreamHttpProtocol({ ...gateway, portProtocol: 'UNKNOWN' })).toBeUndefined();
    expect(upstreamHttpProtocol({ ...gateway, portProtocol: 'GRPC' })).toBe('HTTP2');
    expect(upstreamHttpProtocol({ ...gateway, sidecar: true, portProtocol: 'UNKNOWN' })).toBe('DOWNSTREAM');
  });
});
