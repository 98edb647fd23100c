// A span's Zipkin v2 JSON: valid JSON whatever its strings hold (quotes,
// backslashes, control characters, custom tag names), with the ids, kind,
// shared flag, the error tag on 5xx, and the router's child span when
// spawn_upstream_span made one.
import { describe, expect, it } from 'vitest';
import { KIND_SERVER, Span } from '../../../workers/tracing/span.js';

describe('Span.toJson', () => {
  it('writes valid Zipkin v2 JSON for hostile strings and a spawned upstream span', () => {
    const s = new Span();
    s.traceId = '463ac35c9f6413ad';
    s.id = 'a2fb4a1d1a96d312';
    s.parentId = '0020000000000001';
    s.kind = KIND_SERVER;
    s.shared = true;
    s.name = 'host"\\/*';
    s.timestampUs = 1_700_000_000_000_123;
    s.durationUs = 0;
    s.statusCode = 503;
    s.method = 'GET';
    s.url = 'http://h/"\u0000\u2028';
    s.protocol = 'HTTP/1.1';
    s.requestId = 'r"1';
    s.peerAddress = '127.0.0.1';
    s.custom = ['tag"x', 'v\\al', 'user', ''];
    s.upstreamSpanId = 'b7ad6b7169203331';
    s.upstreamCluster = 'outbound|9080||reviews';
    const list = JSON.parse(`[${s.toJson(JSON.stringify({ serviceName: 'a.default' }), JSON.stringify('node"1'))}]`) as Record<string, unknown>[];
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', parentId: '0020000000000001', kind: 'SERVER', shared: true, name: 'host"\\/*',
      timestamp: 1_700_000_000_000_123, duration: 1, localEndpoint: { serviceName: 'a.default' },
      tags: { 'http.url': 'http://h/"\u0000\u2028', 'http.status_code': '503', error: 'true', 'tag"x': 'v\\al', user: '', node_id: 'node"1', 'guid:x-request-id': 'r"1', upstream_cluster: 'outbound|9080||reviews' },
    });
    expect(list[1]).toMatchObject({ id: 'b7ad6b7169203331', parentId: 'a2fb4a1d1a96d312', kind: 'CLIENT', tags: { error: 'true' } });
    expect(s.count).toBe(2);
  });
});
