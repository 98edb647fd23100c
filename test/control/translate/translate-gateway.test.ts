// What a gateway proxy (`--router`) is given: listeners per Gateway server
// port, virtual hosts from Istio's host intersection between server hosts and
// bound VirtualServices, the server hosts' namespace rule, merged routes, SNI
// filter chains for HTTPS servers, and nothing for proxies the selector skips.
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { commonHost } from '../../../control/translate/gateway-routes.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateForProxy } from '../../../control/translate/translate-for-proxy.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const ingress: ProxyIdentity = { id: 'router~1', namespace: 'istio-system', labels: { istio: 'ingressgateway' }, router: true, address: '127.0.0.1' };

const CONFIG = `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: web, namespace: edge}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*.example.com", "shop/cart.internal"]
  - port: {number: 8443, name: https, protocol: HTTPS}
    tls: {mode: SIMPLE, serverCertificate: /c.pem, privateKey: /k.pem}
    hosts: [secure.example.com]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: a-shop, namespace: shop}
spec:
  hosts: [shop.example.com, cart.internal, other.org]
  gateways: [edge/web, mesh]
  http: [{match: [{uri: {prefix: /shop}}], route: [{destination: {host: shop}}]}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: b-any, namespace: blog}
spec:
  hosts: ["*"]
  gateways: [edge/web]
  http: [{route: [{destination: {host: blog}}]}]
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: c-cart, namespace: blog}
spec:
  hosts: [cart.internal]
  gateways: [edge/web]
  http: [{route: [{destination: {host: cart}}]}]
`;

function translate(proxy: ProxyIdentity) {
  return translateForProxy(proxy, createMeshConfig(parseResources(CONFIG, 'gw.yaml')), new ServiceRegistry({})) as Json;
}

describe('gateway translation', () => {
  it('intersects hosts as Istio does: the more specific of two matching hosts names the virtual host', () => {
    expect(commonHost('*', '*')).toBe('*');
    expect(commonHost('*.example.com', 'shop.example.com')).toBe('shop.example.com');
    expect(commonHost('shop.example.com', '*')).toBe('shop.example.com');
    expect(commonHost('*.example.com', 'example.com')).toBeUndefined();
    expect(commonHost('a.example.com', 'b.example.com')).toBeUndefined();
  });

  it('builds one listener per port, virtual hosts per shared host, and merges routes of VirtualServices for one host', () => {
    const out = translate(ingress);
    expect(out.listeners.map((l: Json) => l.name)).toEqual(['127.0.0.1_8080', '127.0.0.1_8443']);
    const http = out.routes.find((r: Json) => r.name === 'http.8080');
    const hosts = Object.fromEntries(http.virtual_hosts.map((v: Json) => [v.name, { domains: v.domains, clusters: v.routes.map((r: Json) => r.route.cluster) }]));
    expect(hosts).toEqual({
      // a-shop: shop.example.com under *.example.com (a request for it never reaches the wildcard's routes, as in
      // Envoy: the most specific domain wins); cart.internal is for namespace shop's VirtualServices only.
      'shop.example.com:8080': { domains: ['shop.example.com', 'shop.example.com:8080'], clusters: ['outbound|8080||shop.shop.svc.cluster.local'] },
      'cart.internal:8080': { domains: ['cart.internal', 'cart.internal:8080'], clusters: ['outbound|8080||shop.shop.svc.cluster.local'] },
      // b-any ("*") takes the server's own hosts, the more specific ones; c-cart (namespace blog) may not bind cart.internal.
      '*.example.com:8080': { domains: ['*.example.com', '*.example.com:8080'], clusters: ['outbound|8080||blog.blog.svc.cluster.local'] },
    });
  });

  it('gives an HTTPS server its own SNI filter chain, TLS context and route config', () => {
    const out = translate(ingress);
    const tls = out.listeners.find((l: Json) => l.name === '127.0.0.1_8443');
    expect(tls.listener_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.listener.tls_inspector']);
    expect(tls.filter_chains).toHaveLength(1);
    const chain = tls.filter_chains[0];
    expect(chain.filter_chain_match).toEqual({ server_names: ['secure.example.com'] });
    expect(chain.transport_socket.typed_config.common_tls_context.tls_certificates).toEqual([{ certificate_chain: { filename: '/c.pem' }, private_key: { filename: '/k.pem' } }]);
    const routeName = chain.filters[0].typed_config.rds.route_config_name;
    expect(routeName).toBe('https.8443.https.web.edge');
    const rc = out.routes.find((r: Json) => r.name === routeName);
    expect(rc.virtual_hosts.map((v: Json) => v.name)).toEqual(['secure.example.com:8443']);
  });

  it('a proxy the selector does not match, or a sidecar, gets no gateway listeners', () => {
    expect(translate({ ...ingress, labels: { istio: 'egressgateway' } }).listeners).toEqual([]);
    const sidecar = translate({ id: 'sidecar~1', namespace: 'shop', labels: {} });
    expect(sidecar.listeners.map((l: Json) => l.name)).toEqual(['outbound']);
    // a-shop is bound to the mesh too: the sidecar routes shop.example.com by it; b-any and c-cart are gateway-only.
    expect(JSON.stringify(sidecar.routes)).not.toContain('blog.blog.svc.cluster.local');
  });
});

describe('gateway route merging', () => {
  it('appends the routes of a second VirtualService for the same host, in precedence order', () => {
    const text = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a}
spec: {hosts: ["*"], gateways: [gw], http: [{match: [{uri: {prefix: /a}}], route: [{destination: {host: a}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b}
spec: {hosts: ["*"], gateways: [gw], http: [{route: [{destination: {host: b}}]}]}
`;
    const out = translateForProxy(ingress, createMeshConfig(parseResources(text, 'm.yaml')), new ServiceRegistry({})) as Json;
    const [vh] = out.routes[0].virtual_hosts;
    expect(vh.domains).toEqual(['*']);
    expect(vh.routes.map((r: Json) => r.route.cluster)).toEqual(['outbound|80||a.default.svc.cluster.local', 'outbound|80||b.default.svc.cluster.local']);
  });
});

describe('gateway passthrough', () => {
  it('sniHosts "*" on a server for "*" (expose-istiod) is the chain for every ClientHello, per port', () => {
    const text = `apiVersion: networking.istio.io/v1alpha3
kind: Gateway
metadata: {name: istiod-gateway, namespace: istio-system}
spec:
  selector: {istio: eastwestgateway}
  servers:
  - port: {name: tls-istiod, number: 15012, protocol: tls}
    tls: {mode: PASSTHROUGH}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: istiod-vs, namespace: istio-system}
spec:
  hosts: ["*"]
  gateways: [istiod-gateway]
  tls:
  - match: [{port: 15012, sniHosts: ["*"]}]
    route: [{destination: {host: istiod.istio-system.svc.cluster.local, port: {number: 15012}}}]
  - match: [{port: 15017, sniHosts: ["*"]}]
    route: [{destination: {host: istiod.istio-system.svc.cluster.local, port: {number: 443}}}]
`;
    const proxy = { ...ingress, labels: { istio: 'eastwestgateway' } };
    const out = translateForProxy(proxy, createMeshConfig(parseResources(text, 'e.yaml')), new ServiceRegistry({})) as Json;
    expect(out.listeners).toHaveLength(1);
    const [chain] = out.listeners[0].filter_chains;
    expect(out.listeners[0].filter_chains).toHaveLength(1);
    expect(chain.filter_chain_match).toBeUndefined();
    expect(chain.filters[0].typed_config.cluster).toBe('outbound|15012||istiod.istio-system.svc.cluster.local');
  });
});
