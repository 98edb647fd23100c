// PeerAuthentication and auto mTLS in the translation (issue 12.4, 12.5): the
// inbound listener's filter chains per mode, the outbound cluster's
// UpstreamTlsContext (Istio's SNI, ALPN, SAN check) only towards sidecars
// with a mesh identity, DestinationRule ISTIO_MUTUAL/DISABLE, the parse
// problems (file, line, field) and the analyze warning.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { analyzeResources, formatAnalysisProblem } from '../../../control/config/analyze.js';
import { parseResources } from '../../../control/config/parse-resources.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';
import { schemaProblems } from './envoy-schema.js';

type Json = any;
const MESH_LABEL = { 'security.istio.io/tlsMode': 'istio' };

function reviewsProxy(labels: Record<string, string>): ProxyIdentity {
  return { id: 'reviews-1', namespace: 'default', service: 'reviews', labels: { app: 'reviews', version: 'v1', ...labels }, appPort: 9081 };
}
const productpage = (mesh: boolean): ProxyIdentity => ({
  id: 'pp-1', namespace: 'default', service: 'productpage', labels: { app: 'productpage', ...(mesh ? MESH_LABEL : {}) },
});

function setup(yaml: string, reviewsHasIdentity = true) {
  const resources = yaml === '' ? [] : parseResources(yaml, 'mtls.yaml');
  const registry = new ServiceRegistry();
  registry.register({
    id: 'reviews-1', service: 'reviews', namespace: 'default', address: '127.0.0.1', appPort: 15006, servicePort: 9080,
    version: 'v1', serviceAccount: 'bookinfo-reviews', ...(reviewsHasIdentity ? { labels: MESH_LABEL } : {}),
  });
  return { registry, config: createMeshConfig(resources) };
}

const inbound = (out: { listeners: object[] }): Json => out.listeners.find((l) => (l as Json).name === 'inbound');
const cluster = (out: { clusters: object[] }, name: string): Json => out.clusters.find((c) => (c as Json).name === name);
const chainKinds = (l: Json): string[] => l.filter_chains.map((c: Json) => c.filter_chain_match?.transport_protocol ?? 'any');

describe('inbound listener by PeerAuthentication', () => {
  it('PERMISSIVE by default: an mTLS chain and a plaintext chain chosen by the tls_inspector, the mTLS one setting XFCC as Istio does', () => {
    const { registry, config } = setup('');
    const l = inbound(translateForProxy(reviewsProxy(MESH_LABEL), config, registry));
    expect(chainKinds(l)).toEqual(['tls', 'raw_buffer']);
    expect(l.listener_filters[0].name).toBe('envoy.filters.listener.tls_inspector');
    const tls = l.filter_chains[0].transport_socket.typed_config;
    expect(tls.require_client_certificate).toEqual({ value: true });
    expect(tls.common_tls_context.tls_certificate_sds_secret_configs[0].name).toBe('default');
    expect(tls.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name).toBe('ROOTCA');
    const hcm = l.filter_chains[0].filters[0].typed_config;
    expect(hcm.forward_client_cert_details).toBe('APPEND_FORWARD');
    expect(l.filter_chains[1].filters[0].typed_config.forward_client_cert_details).toBeUndefined();
    expect(schemaProblems('envoy.config.listener.v3.Listener', l), JSON.stringify(schemaProblems('envoy.config.listener.v3.Listener', l))).toEqual([]);
  });

  it('STRICT mesh-wide (root namespace), DISABLE for a namespace, and a workload selector with portLevelMtls over both', () => {
    const strict = `apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`;
    let { registry, config } = setup(strict);
    expect(chainKinds(inbound(translateForProxy(reviewsProxy(MESH_LABEL), config, registry)))).toEqual(['tls']);
    ({ registry, config } = setup(`${strict}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: DISABLE}}
`));
    const disabled = inbound(translateForProxy(reviewsProxy(MESH_LABEL), config, registry));
    expect(chainKinds(disabled)).toEqual(['any']);
    expect(disabled.filter_chains[0].transport_socket).toBeUndefined();
    ({ registry, config } = setup(`${strict}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: UNSET}
  portLevelMtls:
    9081: {mode: PERMISSIVE}
`));
    expect(chainKinds(inbound(translateForProxy(reviewsProxy(MESH_LABEL), config, registry)))).toEqual(['tls', 'raw_buffer']);
    // The selector names another port: UNSET defers to the mesh's STRICT.
    expect(config.mtlsModeFor(reviewsProxy(MESH_LABEL), 8080)).toBe('STRICT');
  });

  it('a sidecar without a mesh identity keeps a plaintext inbound listener whatever the policy says', () => {
    const { registry, config } = setup(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
`);
    const l = inbound(translateForProxy(reviewsProxy({}), config, registry));
    expect(l.filter_chains).toHaveLength(1);
    expect(l.filter_chains[0].transport_socket).toBeUndefined();
  });
});

describe('outbound mTLS', () => {
  const CLUSTER = 'outbound|9080||reviews.default.svc.cluster.local';

  it('auto mTLS to a sidecar with a mesh identity: Istio\'s SNI and ALPN, the SAN of its service account', () => {
    const { registry, config } = setup('');
    const c = cluster(translateForProxy(productpage(true), config, registry), CLUSTER);
    const tls = c.transport_socket.typed_config;
    expect(tls.sni).toBe('outbound_.9080_._.reviews.default.svc.cluster.local');
    expect(tls.common_tls_context.alpn_protocols).toEqual(['istio-peer-exchange', 'istio']);
    expect(tls.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names)
      .toEqual([{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' } }]);
    expect(schemaProblems('envoy.config.cluster.v3.Cluster', c), JSON.stringify(schemaProblems('envoy.config.cluster.v3.Cluster', c))).toEqual([]);
  });

  it('plaintext to a destination without a sidecar identity, from a client without one, and with DestinationRule DISABLE', () => {
    let { registry, config } = setup('', false);
    expect(cluster(translateForProxy(productpage(true), config, registry), CLUSTER).transport_socket).toBeUndefined();
    ({ registry, config } = setup(''));
    expect(cluster(translateForProxy(productpage(false), config, registry), CLUSTER).transport_socket).toBeUndefined();
    ({ registry, config } = setup(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec: {host: reviews, trafficPolicy: {tls: {mode: DISABLE}}}
`));
    expect(cluster(translateForProxy(productpage(true), config, registry), CLUSTER).transport_socket).toBeUndefined();
  });

  it('DestinationRule ISTIO_MUTUAL sends mTLS even to endpoints not known to have a sidecar', () => {
    const { registry, config } = setup(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
  subsets: [{name: v1, labels: {version: v1}}]
`, false);
    const out = translateForProxy(productpage(true), config, registry);
    expect(cluster(out, CLUSTER).transport_socket.typed_config.sni).toBe('outbound_.9080_._.reviews.default.svc.cluster.local');
    expect(cluster(out, 'outbound|9080|v1|reviews.default.svc.cluster.local').transport_socket.typed_config.sni)
      .toBe('outbound_.9080_.v1_.reviews.default.svc.cluster.local');
  });

  it('a sidecar gaining a mesh identity is a service change (clusters rebuilt), not an EDS-only push', () => {
    const registry = new ServiceRegistry();
    registry.register({ id: 'a', service: 'reviews', namespace: 'default', address: '127.0.0.1', appPort: 1, servicePort: 9080 });
    const change = registry.register({ id: 'a', service: 'reviews', namespace: 'default', address: '127.0.0.1', appPort: 1, servicePort: 9080, labels: MESH_LABEL });
    expect(change.services).toEqual(['reviews.default.svc.cluster.local']);
  });
});

describe('PeerAuthentication config and analyze', () => {
  it('names the file, line and field of a bad mode, a bad port and portLevelMtls without a selector', () => {
    const bad = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: x, namespace: default}
spec:
  mtls: {mode: STRICTLY}
  portLevelMtls:
    http: {mode: DISABLE}
---
apiVersion: networking.istio.io/v1
kind: PeerAuthentication
metadata: {name: y}
spec: {}
`;
    let messages: string[] = [];
    try {
      parseResources(bad, 'pa.yaml');
    } catch (err) {
      messages = (err as ConfigError).problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
    }
    expect(messages.join('\n')).toMatch(/pa\.yaml:5: spec\.mtls\.mode must be one of UNSET, DISABLE, PERMISSIVE, STRICT/);
    expect(messages.join('\n')).toMatch(/pa\.yaml:7: spec\.portLevelMtls\.http is not a port number/);
    expect(messages.join('\n')).toMatch(/pa\.yaml:7: spec\.portLevelMtls needs a selector/);
    expect(messages.join('\n')).toMatch(/pa\.yaml:9: apiVersion "networking\.istio\.io\/v1" does not serve PeerAuthentication/);
  });

  it('warns when a DestinationRule tells clients DISABLE towards STRICT workloads', () => {
    const resources = parseResources(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: STRICT}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec: {host: reviews, trafficPolicy: {tls: {mode: DISABLE}}}
`, 'm.yaml');
    const out = analyzeResources(resources).map(formatAnalysisProblem);
    expect(out.some((l) => /^m\.yaml:9: warning: spec\.trafficPolicy\.tls\.mode is DISABLE, but the workloads of reviews\.default\.svc\.cluster\.local .* STRICT/.test(l)), out.join('\n')).toBe(true);
    const permissive = parseResources(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec: {host: reviews, trafficPolicy: {tls: {mode: DISABLE}}}
`, 'p.yaml');
    expect(analyzeResources(permissive).map(formatAnalysisProblem).filter((l) => l.includes('STRICT'))).toEqual([]);
  });
});

describe('isthmus control --root-namespace', () => {
  it('is where mesh-wide PeerAuthentication lives, and must be a namespace name', async () => {
    const { parseControlOptions } = await import('../../../control/control-command.js');
    expect((parseControlOptions([], {}) as { rootNamespace: string }).rootNamespace).toBe('istio-system');
    expect((parseControlOptions(['--root-namespace', 'mesh-root'], {}) as { rootNamespace: string }).rootNamespace).toBe('mesh-root');
    expect(() => parseControlOptions(['--root-namespace', 'Bad_NS'], {})).toThrow(/--root-namespace must be a namespace name/);
    const resources = parseResources(`apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: mesh-root}
spec: {mtls: {mode: STRICT}}
`, 'root.yaml');
    const labels = { app: 'reviews' };
    expect(createMeshConfig(resources, { rootNamespace: 'mesh-root' }).mtlsModeFor({ id: 'r', namespace: 'default', labels }, 9080)).toBe('STRICT');
    expect(createMeshConfig(resources).mtlsModeFor({ id: 'r', namespace: 'default', labels }, 9080)).toBe('PERMISSIVE');
  });
});
