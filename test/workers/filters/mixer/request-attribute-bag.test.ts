// The attribute bag: Istio's names computed from the request and its
// connection (the SPIFFE identity of an mTLS peer), only when read; static
// attributes from the config; the typed wire form a Check carries.
import { describe, expect, it } from 'vitest';
import type { StaticAttribute } from '../../../../src/config/mixer-filter-config.js';
import { RequestAttributeBag, type AttributeSource } from '../../../../workers/filters/mixer/request-attribute-bag.js';

function source(over: Partial<AttributeSource> = {}, peerUriSan = ''): AttributeSource & { reads: number } {
  let reads = 0;
  const headers = ['user-agent', 'curl/8', 'x-user', 'alice', 'x-multi', 'a', 'x-multi', 'b', 'content-type', 'application/grpc'];
  return {
    method: 'POST', path: '/api', query: 'q=1', authority: 'reviews:9080', requestId: 'rid-1', scheme: 'https',
    bytesReceived: 120, bytesSent: 300, responseCode: 201, startMark: performance.now() - 5,
    get headers() {
      reads++;
      return headers;
    },
    conn: { remoteAddress: '::ffff:10.1.2.3', remotePort: 40000, peerUriSan, tlsVersion: peerUriSan === '' ? '' : 'TLSv1.3' },
    get reads() {
      return reads;
    },
    ...over,
  } as AttributeSource & { reads: number };
}

const statics = new Map<string, StaticAttribute>([
  ['destination.service.host', { name: 'destination.service.host', value: 'reviews.default.svc.cluster.local', wire: { string_value: 'reviews.default.svc.cluster.local' } }],
]);
const listener = { statics, destinationIp: '10.0.0.9', destinationPort: 9080 };

describe('RequestAttributeBag', () => {
  it("computes Istio's request attributes, and only those read", () => {
    const src = source();
    const bag = new RequestAttributeBag(src, listener);
    expect(bag.get('source.ip')).toBe('10.1.2.3');
    expect(bag.get('request.path')).toBe('/api?q=1');
    expect(bag.get('request.url_path')).toBe('/api');
    expect(src.reads).toBe(0); // no header was needed yet
    expect(bag.get('request.useragent')).toBe('curl/8');
    expect(bag.get('request.headers')).toEqual({ 'user-agent': 'curl/8', 'x-user': 'alice', 'x-multi': 'a,b', 'content-type': 'application/grpc', host: 'reviews:9080' });
    expect(bag.get('request.method')).toBe('POST');
    expect(bag.get('request.host')).toBe('reviews:9080');
    expect(bag.get('request.scheme')).toBe('https');
    expect(bag.get('request.id')).toBe('rid-1');
    expect(bag.get('context.protocol')).toBe('grpc');
    expect(bag.get('destination.port')).toBe(9080);
    expect(bag.get('destination.service.host')).toBe('reviews.default.svc.cluster.local');
    expect(bag.get('connection.mtls')).toBe(false);
    expect(bag.get('source.principal')).toBeUndefined();
    expect(bag.get('no.such.attribute')).toBeUndefined();
  });

  it('takes source.principal and source.namespace from the mTLS peer SPIFFE ID', () => {
    const bag = new RequestAttributeBag(source({}, 'spiffe://cluster.local/ns/shop/sa/frontend'), listener);
    expect(bag.get('source.principal')).toBe('cluster.local/ns/shop/sa/frontend');
    expect(bag.get('source.namespace')).toBe('shop');
    expect(bag.get('source.serviceaccount')).toBe('frontend');
    expect(bag.get('connection.mtls')).toBe(true);
  });

  it('has response attributes only once the response is known, and typed wire values', () => {
    const bag = new RequestAttributeBag(source(), listener);
    expect(bag.get('response.code')).toBeUndefined();
    bag.responded = true;
    expect(bag.get('response.code')).toBe(201);
    expect(bag.wireOf('response.code')).toEqual({ int64_value: 201 });
    expect(bag.wireOf('response.size')).toEqual({ int64_value: 300 });
    expect(bag.wireOf('response.duration')).toMatchObject({ duration_value: { seconds: 0 } });
    expect(bag.wireOf('source.ip')).toEqual({ string_value: '10.1.2.3' });
    expect(bag.wireOf('destination.service.host')).toEqual({ string_value: 'reviews.default.svc.cluster.local' });
    expect(Object.keys(bag.wireAttributes(['request.method', 'source.principal', 'response.code']))).toEqual(['request.method', 'response.code']);
  });
});
