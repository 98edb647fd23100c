// Envoy's ext_authz AttributeContext read as Istio attributes: what a rule sees.
import { describe, expect, it } from 'vitest';
import { attributesFromContext } from '../../../control/mixer/ext-authz-attributes.js';

describe('attributesFromContext', () => {
  it('maps peers and the HTTP request to Istio attribute names; headers lowercase', () => {
    const bag = attributesFromContext({
      source: { address: { socket_address: { address: '10.0.0.1', port_value: 50000 } }, principal: 'spiffe://cluster.local/ns/a/sa/b', labels: { app: 'web' } },
      destination: { address: { socket_address: { address: '10.0.0.2', port_value: 8080 } } },
      request: { time: { seconds: 1700000000, nanos: 5_000_000 }, http: { method: 'POST', path: '/items?page=2', host: 'shop', scheme: 'https', size: 12, headers: { 'X-User': 'beta', 'user-agent': 'curl/8', 'content-type': 'application/grpc' } } },
    });
    expect(bag.get('source.ip')).toBe('10.0.0.1');
    expect(bag.get('source.port')).toBe(50000);
    // As the sidecar's Mixer filter has them: the principal without its scheme, the namespace from the SPIFFE ID.
    expect(bag.get('source.principal')).toBe('cluster.local/ns/a/sa/b');
    expect(bag.get('source.namespace')).toBe('a');
    expect(bag.get('source.serviceaccount')).toBe('b');
    expect(bag.get('connection.mtls')).toBe(true);
    expect((bag.get('source.labels') as Record<string, string>).app).toBe('web');
    expect(bag.get('destination.port')).toBe(8080);
    expect(bag.get('request.method')).toBe('POST');
    expect(bag.get('request.path')).toBe('/items?page=2');
    expect(bag.get('request.url_path')).toBe('/items');
    expect(bag.get('request.host')).toBe('shop');
    expect(bag.get('request.scheme')).toBe('https');
    expect(bag.get('request.size')).toBe(12);
    expect((bag.get('request.headers') as Record<string, string>)['x-user']).toBe('beta');
    expect(bag.get('request.useragent')).toBe('curl/8');
    expect(bag.get('request.time')).toBe(1_700_000_000_005);
    expect(bag.get('context.protocol')).toBe('grpc');
  });

  it('takes destination.* string attributes from context_extensions and destination labels from the peer; ignores other keys', () => {
    const bag = attributesFromContext({
      destination: { labels: { app: 'reviews', version: 'v2' }, principal: 'spiffe://cluster.local/ns/shop/sa/reviews' },
      context_extensions: {
        'destination.service.name': 'reviews', 'destination.service.host': 'reviews.shop.svc.cluster.local',
        'destination.port': '1', 'source.principal': 'forged', 'route-key': 'x', 'destination.service.uid': '',
      },
    });
    expect(bag.get('destination.service.name')).toBe('reviews');
    expect(bag.get('destination.service.host')).toBe('reviews.shop.svc.cluster.local');
    expect(bag.get('destination.namespace')).toBe('shop');
    expect(bag.get('destination.principal')).toBe('cluster.local/ns/shop/sa/reviews');
    expect(bag.get('destination.labels')).toEqual({ app: 'reviews', version: 'v2' });
    // Not a destination string attribute: not an attribute at all.
    expect(bag.get('destination.port')).toBeUndefined();
    expect(bag.get('source.principal')).toBeUndefined();
    expect(bag.get('route-key')).toBeUndefined();
    expect(bag.get('destination.service.uid')).toBeUndefined();
  });

  it('leaves out what the context does not carry, and survives an empty or odd message', () => {
    const bag = attributesFromContext({ request: { http: { method: 'GET', headers: { a: 'b', n: 5 as unknown as string } } } });
    expect(bag.get('source.ip')).toBeUndefined();
    expect(bag.get('source.principal')).toBeUndefined();
    expect(bag.get('connection.mtls')).toBe(false);
    expect(bag.get('request.size')).toBeUndefined();
    expect(Object.keys(bag.get('request.headers') as object)).toEqual(['a']);
    expect(attributesFromContext(undefined).get('request.method')).toBeUndefined();
  });
});
