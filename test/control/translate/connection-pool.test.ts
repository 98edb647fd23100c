// DestinationRule connectionPool.http maxRequestsPerConnection and idleTimeout
// become the cluster's HttpProtocolOptions common_http_protocol_options, as
// Istio writes them (portLevelSettings replacing the pool for their port);
// the result fits Envoy's protos, survives the trip over the wire, and the
// proxy's cluster reader applies it.
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { encodeResource } from '../../../control/xds/resource-encoder.js';
import { readClusterObject } from '../../../src/config/parse-resource-object.js';
import { ProtoJson } from '../../../src/xds/proto-json.js';
import { loadXdsProtos, TYPE_URL } from '../../../src/xds/xds-protos.js';
import { validateXdsResource } from '../../../src/xds/xds-resources.js';
import { FakeClock } from '../registry/fake-clock.js';
import { schemaProblems } from './envoy-schema.js';

type Json = any;

const HOST = 'api.default.svc.cluster.local';
const OPTIONS_NAME = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

const MESH = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: default}
spec:
  hosts: [${HOST}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 8080, name: http-main}
  - {number: 9090, name: http-admin}
  - {number: 7070, name: http-plain}
  - {number: 6060, name: http-upgraded}
  endpoints:
  - {address: 127.0.0.1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api, namespace: default}
spec:
  host: ${HOST}
  trafficPolicy:
    connectionPool:
      http: {maxRequestsPerConnection: 2, idleTimeout: 90s}
    portLevelSettings:
    - port: {number: 9090}
      connectionPool:
        http: {idleTimeout: 1.5s}
    - port: {number: 7070}
      connectionPool:
        http: {maxRequestsPerConnection: 0}
    - port: {number: 6060}
      connectionPool:
        http: {h2UpgradePolicy: UPGRADE}
`;

const client: ProxyIdentity = { id: 'client-1', namespace: 'default', service: 'client', labels: { app: 'client' } };

function clusters(): Map<string, Json> {
  const resources = parseResources(MESH, 'mesh.yaml');
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const out = translateForProxy(client, createMeshConfig(resources), registry);
  return new Map(out.clusters.map((c: Json) => [c.name as string, c]));
}

const protoJson = new ProtoJson(loadXdsProtos().packageDefinition);

/** Encoded as the ADS server sends it, decoded as the sidecar does, read by the sidecar's cluster reader (EDS endpoints left empty). */
function asProxyReadsIt(cluster: Json): Json {
  const json: Json = protoJson.resourceToJson({ type_url: TYPE_URL.CLUSTER, value: encodeResource(TYPE_URL.CLUSTER, cluster).bytes });
  expect(validateXdsResource(TYPE_URL.CLUSTER, json)).toEqual([]);
  const { eds_cluster_config: _eds, ...rest } = json;
  const result = readClusterObject({ ...rest, type: 'STATIC', load_assignment: { cluster_name: json.name, endpoints: [] } }, 'Cluster');
  expect(result.problems).toEqual([]);
  return result.value;
}

describe('DestinationRule connectionPool.http as HttpProtocolOptions', () => {
  it('maxRequestsPerConnection and idleTimeout become common_http_protocol_options, per port', () => {
    const all = clusters();
    const main = all.get(`outbound|8080||${HOST}`);
    expect(main.typed_extension_protocol_options).toEqual({
      [OPTIONS_NAME]: {
        '@type': `type.googleapis.com/${OPTIONS_NAME}`,
        common_http_protocol_options: { idle_timeout: { seconds: 90, nanos: 0 }, max_requests_per_connection: { value: 2 } },
        explicit_http_config: { http_protocol_options: {} },
      },
    });
    // The port's connectionPool replaces the policy's: only its idleTimeout.
    const admin = all.get(`outbound|9090||${HOST}`);
    expect(admin.typed_extension_protocol_options[OPTIONS_NAME].common_http_protocol_options).toEqual({ idle_timeout: { seconds: 1, nanos: 500_000_000 } });
    // maxRequestsPerConnection 0 is Istio's "unlimited": nothing to write.
    expect(all.get(`outbound|7070||${HOST}`).typed_extension_protocol_options).toBeUndefined();
    for (const cluster of [main, admin]) expect(schemaProblems('envoy.config.cluster.v3.Cluster', cluster)).toEqual([]);
  });

  it('reaches the sidecar over xDS as the limits its upstream pool applies', () => {
    const all = clusters();
    expect(asProxyReadsIt(all.get(`outbound|8080||${HOST}`))).toMatchObject({ maxRequestsPerConnection: 2, upstreamIdleTimeoutMs: 90_000, upstreamProtocol: 'HTTP1' });
    expect(asProxyReadsIt(all.get(`outbound|9090||${HOST}`))).toMatchObject({ maxRequestsPerConnection: 0, upstreamIdleTimeoutMs: 1500 });
    expect(asProxyReadsIt(all.get(`outbound|7070||${HOST}`))).toMatchObject({ maxRequestsPerConnection: 0, upstreamIdleTimeoutMs: 3_600_000 });
  });

  it('h2UpgradePolicy UPGRADE makes the cluster speak HTTP/2 upstream', () => {
    const upgraded = clusters().get(`outbound|6060||${HOST}`);
    expect(upgraded.typed_extension_protocol_options).toEqual({
      [OPTIONS_NAME]: { '@type': `type.googleapis.com/${OPTIONS_NAME}`, explicit_http_config: { http2_protocol_options: {} } },
    });
    expect(schemaProblems('envoy.config.cluster.v3.Cluster', upgraded)).toEqual([]);
    expect(asProxyReadsIt(upgraded)).toMatchObject({ upstreamProtocol: 'HTTP2' });
  });
});
