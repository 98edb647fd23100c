// A span's Zipkin v2 JSON: valid JSON whatever its strings hold (quotes,
// backslashes, control characters, custom tag names), with the ids, kind,
// shared flag, the error tag on 5xx, and the router's child span when
// spawn_upstream_span made one.
import { describe, expect, it } from 'vitest';
import { KIND_SERVER, Span } from '../../../workers/tracing/span.js';
import { SpanBatch } from '../../../workers/tracing/span-batch.js';
import { setSpanIds } from '../../support/span-ids.js';

/** takes spans; returns the report body a batch of them makes, parsed. */
function reported(spans: Span[], local = JSON.stringify({ serviceName: 'a.default' }), nodeId = JSON.stringify('node"1')): Record<string, unknown>[] {
  const batch = new SpanBatch();
  for (const s of spans) batch.appendSpan(s, Buffer.from(local), Buffer.from(nodeId));
  return JSON.parse(batch.payload().toString('utf8')) as Record<string, unknown>[];
}

describe('span JSON', () => {
  it('writes valid Zipkin v2 JSON for hostile strings and a spawned upstream span', () => {
    const s = new Span();
    setSpanIds(s, { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', parentId: '0020000000000001', upstreamSpanId: 'b7ad6b7169203331' });
    s.kind = KIND_SERVER;
    s.shared = true;
    s.timestampUs = 1_700_000_000_000_123;
    s.durationUs = 0;
    s.statusCode = 503;
    s.method = 'GET';
    s.scheme = 'http';
    s.authority = 'h"\\';
    s.path = '/"\u0000\u2028';
    s.protocol = 'HTTP/1.1';
    s.requestId = 'r"1';
    s.peerAddress = '127.0.0.1';
    s.custom = ['tag"x', 'v\\al', 'user', ''];
    s.upstreamCluster = 'outbound|9080||reviews';
    const list = reported([s]);
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', parentId: '0020000000000001', kind: 'SERVER', shared: true, name: 'h"\\/*',
      timestamp: 1_700_000_000_000_123, duration: 1, localEndpoint: { serviceName: 'a.default' },
      tags: { 'http.url': 'http://h"\\/"\u0000\u2028', 'http.status_code': '503', error: 'true', 'tag"x': 'v\\al', user: '', node_id: 'node"1', 'guid:x-request-id': 'r"1', upstream_cluster: 'outbound|9080||reviews' },
    });
    expect(list[1]).toMatchObject({ id: 'b7ad6b7169203331', parentId: 'a2fb4a1d1a96d312', kind: 'CLIENT', tags: { error: 'true' } });
    expect(s.count).toBe(2);
  });

  it('writes the ids a proxy span holds as words (64- and 128-bit trace, with or without a parent and a child span) as the same hex', () => {
    for (const traceId of ['463ac35c9f6413ad', 'f63ac35c9f6413ad0000000000000001'])
      for (const parent of ['', '0020000000000001'])
        for (const child of ['', 'b7ad6b7169203331']) {
          const s = new Span();
          setSpanIds(s, { traceId, id: 'ffffffff00000a0b', parentId: parent, upstreamSpanId: child });
          s.statusCode = 200;
          const list = reported([s]);
          expect(s.count).toBe(child === '' ? 1 : 2);
          expect(list).toHaveLength(s.count);
          expect(list[0]).toMatchObject({ traceId, id: 'ffffffff00000a0b' });
          expect(list[0]!.parentId).toBe(parent === '' ? undefined : parent);
          if (child !== '') expect(list[1]).toMatchObject({ traceId, id: child, parentId: 'ffffffff00000a0b', kind: 'CLIENT' });
        }
  });

  it('writes every value as JSON.stringify would: escapes, non-ASCII, surrogate pairs and lone surrogates, big numbers', () => {
    const values = ['plain', 'q"b\\s/', '\b\f\n\r\t\u0000\u001f\u007f', 'é€', '😀x', '\ud800', 'a\udc00b', '\u2028\u2029'];
    const spans = values.map((v, i) => {
      const s = new Span();
      setSpanIds(s, { traceId: '463ac35c9f6413ad463ac35c9f6413ad', id: 'a2fb4a1d1a96d31' + i, upstreamSpanId: 'b7ad6b716920333' + i });
      s.scheme = 'http';
      s.authority = v;
      s.path = '/';
      s.userAgent = v;
      s.requestId = v;
      s.method = 'GET';
      s.protocol = 'HTTP/1.1';
      s.peerAddress = '::1';
      s.upstreamCluster = v;
      s.timestampUs = 9_007_199_254_740_991 - i;
      s.durationUs = 1234.6;
      s.statusCode = 200;
      s.requestSize = 0;
      s.responseSize = 1024;
      s.custom = [v, v];
      return s;
    });
    const list = reported(spans, JSON.stringify({ serviceName: 'svc-é' }), JSON.stringify('n\u0001'));
    expect(list).toHaveLength(2 * values.length);
    values.forEach((v, i) => {
      const server = list[2 * i]!;
      const child = list[2 * i + 1]!;
      expect(server).toMatchObject({ name: v + '/*', timestamp: 9_007_199_254_740_991 - i, duration: 1234, localEndpoint: { serviceName: 'svc-é' } });
      expect(server.tags).toMatchObject({ 'http.url': `http://${v}/`, user_agent: v, 'guid:x-request-id': v, 'http.status_code': '200', request_size: '0', response_size: '1024', node_id: 'n\u0001' });
      if (v !== '') expect((server.tags as Record<string, string>)[v]).toBe(v);
      expect(child).toMatchObject({ name: `router ${v === '' ? '-' : v} egress`, parentId: server.id, kind: 'CLIENT' });
    });
    // Byte for byte what JSON.stringify writes for the strings.
    const body = (() => {
      const batch = new SpanBatch();
      batch.appendSpan(spans[2]!, Buffer.from('{}'), Buffer.from('""'));
      return batch.payload().toString('utf8');
    })();
    expect(body).toContain(`"http.url":${JSON.stringify(`http://${values[2]!}/`)}`);
  });

  it('escapes every UTF-16 code unit byte for byte as JSON.stringify does (controls, U+2028, paired and lone surrogates)', () => {
    const units: string[] = [];
    for (let c = 0; c < 0x10000; c++) units.push(String.fromCharCode(c));
    // In order, D800-DBFF run into each other (lone) and DBFF meets DC00 (a pair); reversed, every surrogate is lone.
    for (const value of [units.join(''), units.reverse().join('')]) {
      const s = new Span();
      setSpanIds(s, { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312' });
      s.authority = value;
      const batch = new SpanBatch();
      batch.appendSpan(s, Buffer.from('{}'), Buffer.from('""'));
      const body = batch.payload();
      const want = Buffer.from(`"name":${JSON.stringify(value + '/*')},`, 'utf8');
      expect(body.indexOf(want)).toBeGreaterThan(0);
    }
  });

  it('writes http.url as scheme://authority path?query cut at max_path_tag_length, as slicing the joined URL would', () => {
    const parts = { scheme: 'https', authority: 'reviews:9080', path: '/api/v1/products/0/reviews', query: 'user=jason&x="1"' };
    const whole = `${parts.scheme}://${parts.authority}${parts.path}?${parts.query}`;
    for (const [query, max] of [[parts.query, 256], [parts.query, whole.length], [parts.query, whole.length - 1], [parts.query, 47], [parts.query, 46], [parts.query, 20], [parts.query, 6], [parts.query, 0], ['', 256], ['', 30]] as const) {
      const s = new Span();
      setSpanIds(s, { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312' });
      Object.assign(s, parts);
      s.query = query;
      s.maxUrlLength = max;
      const url = query === '' ? `${parts.scheme}://${parts.authority}${parts.path}` : whole;
      const [json] = reported([s]);
      expect((json!.tags as Record<string, string>)['http.url'], `query ${JSON.stringify(query)}, max ${max}`).toBe(url.slice(0, max));
      expect(json!.name).toBe('reviews:9080/*');
    }
  });

  it('writes every number as its floor in decimal, at least 0, across the digit counts (timestamps have 16)', () => {
    const values = [0, 1, 9, 10, 99, 100, 101, 99_999_999, 100_000_000, 100_000_001, 1_765_000_000_000_123, 9_007_199_254_740_991, 1e16, -5, 3.7, 99_999_999.9, 2 ** 32, NaN, Infinity, 1e300];
    for (let digits = 1; digits <= 16; digits++) for (let k = 0; k < 50; k++) values.push(Math.floor(Math.random() * 10 ** digits));
    const spans = values.map((v) => {
      const s = new Span();
      setSpanIds(s, { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312' });
      s.timestampUs = v;
      s.durationUs = v;
      s.requestSize = v;
      return s;
    });
    const list = reported(spans);
    values.forEach((v, i) => {
      // Past 2^53 - 1 (no value a span holds gets there) written as 2^53 - 1: Infinity does not recurse without end.
      const want = v > 0 ? Math.min(Math.floor(v), Number.MAX_SAFE_INTEGER) : 0;
      expect(list[i]).toMatchObject({ timestamp: want, duration: Math.max(1, want), tags: { request_size: String(want) } });
    });
  });

  it('writes each span\'s own values while they repeat, change and alternate (pieces reused for repeats)', () => {
    const values = ['a:1', 'a:1', 'a:1', 'b"2', 'b"2', 'a:1', 'é:3', 'é:3', 'x'.repeat(2000), 'x'.repeat(2000), 'a:1', 'a:1'];
    const spans = values.map((v, i) => {
      const s = new Span();
      setSpanIds(s, { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d3' + String(10 + i) });
      s.scheme = 'http';
      s.authority = v;
      s.path = '/';
      s.peerAddress = v;
      s.userAgent = v;
      s.upstreamCluster = v;
      s.upstreamAddress = v;
      s.responseFlags = v;
      // The method and protocol change apart from each other.
      s.method = i % 4 < 2 ? 'GET' : 'POST';
      s.protocol = i % 6 < 3 ? 'HTTP/1.1' : 'HTTP/2';
      return s;
    });
    // Written one batch per span too (the pieces outlive a batch), and all in one.
    const one = spans.map((s) => reported([s])[0]!);
    const all = reported(spans);
    values.forEach((v, i) => {
      for (const json of [one[i]!, all[i]!]) {
        expect(json.name).toBe(v + '/*');
        expect(json.tags).toMatchObject({
          'peer.address': v, user_agent: v, upstream_cluster: v, 'upstream_cluster.name': v, upstream_address: v, response_flags: v,
          'http.method': i % 4 < 2 ? 'GET' : 'POST', 'http.protocol': i % 6 < 3 ? 'HTTP/1.1' : 'HTTP/2',
        });
      }
    });
  });

  it('writes each span\'s kind, flags, User-Agent, cluster, endpoint and error state when they change one at a time (kept runs of pieces)', () => {
    // A Gray code over six fields: from one span to the next exactly one of them changes (so a kept run must notice
    // each alone), every combination is written twice in a row (so it is kept), and empty values (no user_agent,
    // upstream_cluster or upstream_address tag) come and go.
    const spans: Span[] = [];
    for (let i = 0; i < 128; i++) {
      const k = i >> 1; // each combination twice
      const g = k ^ (k >> 1);
      const s = new Span();
      setSpanIds(s, { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d3' + String(10 + (i % 90)) });
      s.statusCode = (g & 1) !== 0 ? 503 : 200;
      s.responseFlags = (g & 2) !== 0 ? 'UF' : '-';
      s.userAgent = (g & 4) !== 0 ? 'wrk' : '';
      s.upstreamCluster = (g & 8) !== 0 ? 'c"2' : '';
      s.upstreamAddress = (g & 16) !== 0 ? '10.0.0.2:80' : '';
      if ((g & 32) !== 0) s.kind = KIND_SERVER;
      s.scheme = 'http';
      s.authority = 'svc:80';
      s.path = '/';
      spans.push(s);
    }
    const all = reported(spans);
    spans.forEach((s, i) => {
      const json = all[i]!;
      expect(json.kind).toBe(s.kind === KIND_SERVER ? 'SERVER' : 'CLIENT');
      expect(json.name).toBe('svc:80/*');
      const tags = json.tags as Record<string, string>;
      expect(tags.response_flags).toBe(s.responseFlags);
      expect(tags.user_agent).toBe(s.userAgent === '' ? undefined : s.userAgent);
      expect(tags.upstream_cluster).toBe(s.upstreamCluster === '' ? undefined : s.upstreamCluster);
      expect(tags['upstream_cluster.name']).toBe(s.upstreamCluster === '' ? undefined : s.upstreamCluster);
      expect(tags.upstream_address).toBe(s.upstreamAddress === '' ? undefined : s.upstreamAddress);
      expect(tags.error).toBe(s.statusCode === 0 || s.statusCode >= 500 ? 'true' : undefined);
      expect(tags['http.status_code']).toBe(String(s.statusCode));
    });
  });
});

