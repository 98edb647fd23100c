// The Gateway kind and VirtualServices bound to gateways, as parseResources
// and analyzeResources read them: every problem names file, line and field.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import { analyzeResources, formatAnalysisProblem } from '../../../control/config/analyze.js';
import { parseResources } from '../../../control/config/parse-resources.js';
import type { Gateway, VirtualService } from '../../../control/config/istio-types.js';

function problemsOf(text: string): string[] {
  try {
    parseResources(text, 'gw.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n').slice(1);
    throw err;
  }
  return [];
}

const GATEWAY = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: web, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["./a.example.com", "*/b.example.com", "*.shop.example.com"]
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: MUTUAL, serverCertificate: /c.pem, privateKey: /k.pem, caCertificates: /ca.pem, minProtocolVersion: TLSV1_3}
    hosts: [a.example.com]
`;

describe('Gateway', () => {
  it('reads servers, host namespaces ("." is its own, none is any) and TLS', () => {
    const [g] = parseResources(GATEWAY, 'gw.yaml') as Gateway[];
    expect(g!.spec.selector).toEqual({ istio: 'ingressgateway' });
    expect(g!.spec.servers[0]!.hosts.map((h) => `${h.namespace}|${h.dnsName}`)).toEqual(['edge|a.example.com', '*|b.example.com', '*|*.shop.example.com']);
    expect(g!.spec.servers[1]!.tls).toEqual({
      httpsRedirect: false, mode: 'MUTUAL', serverCertificate: '/c.pem', privateKey: '/k.pem', caCertificates: '/ca.pem', subjectAltNames: [], minProtocolVersion: 'TLSV1_3',
    });
  });

  it('names what is missing or not supported', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bad}
spec:
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, credentialName: bookinfo-secret}
    hosts: [a.example.com]
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["bad ns/x.com"]
  - port: {number: 8443, name: tls, protocol: TLS}
    tls: {mode: AUTO_PASSTHROUGH}
    hosts: ["*"]
  - port: {number: 81, protocol: SMTP}
    hosts: [a.example.com]
`;
    expect(problemsOf(text)).toEqual([
      'gw.yaml:7: spec.servers[0].tls.credentialName (a Kubernetes secret) is not supported: give serverCertificate and privateKey as file paths',
      'gw.yaml:7: spec.servers[0].tls.serverCertificate is required with mode SIMPLE',
      'gw.yaml:7: spec.servers[0].tls.privateKey is required with mode SIMPLE',
      'gw.yaml:10: spec.servers[1].hosts[0] has a namespace that is not ".", "*" or a namespace name: "bad ns/x.com"',
      'gw.yaml:12: spec.servers[2].tls.mode AUTO_PASSTHROUGH is not supported yet (it needs mesh identities or multi-cluster routing); use SIMPLE, MUTUAL or PASSTHROUGH',
      'gw.yaml:12: spec.servers[2].tls must set mode for a TLS port',
      'gw.yaml:14: spec.servers[3].port.protocol must be one of HTTP, HTTPS, HTTP2, GRPC, TLS, TCP (got "SMTP")',
    ]);
  });

  it('binds VirtualServices by name (in their namespace) or ns/name; no gateways means mesh; "*" hosts only off the mesh', () => {
    const [a, b] = parseResources(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [web, edge/web]
  http: [{route: [{destination: {host: cart}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b}
spec:
  hosts: [cart.shop.svc.cluster.local]
  http: [{route: [{destination: {host: cart.shop.svc.cluster.local}}]}]
`, 'vs.yaml') as VirtualService[];
    expect(a!.spec.gateways).toEqual(['shop/web', 'edge/web']);
    expect(b!.spec.gateways).toEqual(['mesh']);
    expect(problemsOf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: c}
spec:
  hosts: ["*"]
  gateways: [mesh, web]
  http: [{route: [{destination: {host: cart}}]}]
`)).toEqual(['gw.yaml:5: spec.hosts[0] must not be "*" (name the hosts)']);
  });

  it('analyze: a VirtualService naming a Gateway nobody defines, or whose hosts no server exposes to its namespace', () => {
    const resources = parseResources(`${GATEWAY}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: shop}
spec:
  hosts: [a.example.com, b.example.com]
  gateways: [edge/web, edge/missing]
  http: [{route: [{destination: {host: cart}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: other, namespace: shop}
spec:
  hosts: [c.example.com]
  gateways: [edge/web]
  http: [{route: [{destination: {host: cart}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: own, namespace: shop}
spec:
  hosts: [a.example.com]
  gateways: [edge/web]
  http: [{route: [{destination: {host: cart}}]}]
`, 'gw.yaml');
    const found = analyzeResources(resources).map(formatAnalysisProblem).filter((p) => !p.includes('IST0101 ReferencedResourceNotFound; a proxy'));
    expect(found).toEqual([
      'gw.yaml:18: spec.gateways[1] names Gateway edge/missing, which no resource defines (IST0101 ReferencedResourceNotFound; Gateways: edge/web)',
      'gw.yaml:26: warning: spec.gateways[0]: no server of Gateway edge/web (gw.yaml:1) exposes any of this VirtualService\'s hosts to namespace shop (IST0132 VirtualServiceHostNotFoundInGateway); its routes are not used there',
      // "./a.example.com" is for edge's VirtualServices only, and port 443's a.example.com for any: so "own" binds through 443.
    ]);
  });
});
