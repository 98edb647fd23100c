// The control plane's trace store: bounded in traces, spans per trace,
// spans in all and their size, the oldest trace evicted first, and the dashboard's summaries.
import { describe, expect, it } from 'vitest';
import { SpanStore, spanSize } from '../../../control/tracing/span-store.js';
import { readZipkinSpan, type ZipkinSpan } from '../../../control/tracing/zipkin-span.js';

function span(trace: number, id: number, extra: Partial<ZipkinSpan> = {}): ZipkinSpan {
  return { traceId: trace.toString(16).padStart(16, '0'), id: id.toString(16).padStart(16, '0'), timestamp: 1_000_000 + trace * 10 + id, duration: 5, ...extra };
}

describe('SpanStore', () => {
  it('evicts the oldest trace when full, and counts it', () => {
    const store = new SpanStore({ maxTraces: 3, maxSpansPerTrace: 10, maxSpans: 100 });
    for (let t = 1; t <= 5; t++) store.add([span(t, 1)]);
    expect(store.size).toBe(3);
    expect(store.trace(span(1, 1).traceId)).toBeUndefined();
    expect(store.trace(span(2, 1).traceId)).toBeUndefined();
    expect(store.trace(span(5, 1).traceId)).toHaveLength(1);
    expect(store.counters.evictedTraces).toBe(2);
  });

  it('keeps at most maxSpansPerTrace spans of a trace and maxSpans in all', () => {
    const store = new SpanStore({ maxTraces: 100, maxSpansPerTrace: 4, maxSpans: 10 });
    store.add(Array.from({ length: 9 }, (_, i) => span(1, i + 1)));
    expect(store.trace(span(1, 1).traceId)).toHaveLength(4);
    expect(store.counters.dropped.trace_full).toBe(5);
    for (let t = 2; t <= 6; t++) store.add([span(t, 1), span(t, 2)]);
    // 4 + 10 spans offered, 10 held at most: the oldest traces went.
    const held = [...Array(6).keys()].map((i) => store.trace(span(i + 1, 1).traceId)?.length ?? 0);
    expect(held.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(10);
    expect(held[5]).toBe(2);
  });

  it('keeps the spans held under maxBytes, evicting the oldest traces, and never keeps an empty trace', () => {
    const big = (trace: number, id: number) => span(trace, id, { tags: { k: 'v'.repeat(1000) } });
    const one = spanSize(big(1, 1));
    const store = new SpanStore({ maxTraces: 100, maxSpansPerTrace: 100, maxSpans: 1000, maxBytes: 10 * one });
    for (let t = 1; t <= 6; t++) store.add([big(t, 1), big(t, 2)]);
    expect(store.bytes).toBeLessThanOrEqual(10 * one);
    expect(store.trace(big(1, 1).traceId)).toBeUndefined();
    expect(store.trace(big(6, 1).traceId)).toHaveLength(2);
    // A span larger than the whole budget is dropped, and leaves no empty trace behind.
    const tiny = new SpanStore({ maxTraces: 10, maxSpansPerTrace: 10, maxSpans: 10, maxBytes: one - 1 });
    tiny.add([big(1, 1)]);
    expect(tiny.size).toBe(0);
    expect(tiny.counters.dropped.trace_full).toBe(1);
    expect(tiny.summaries(10)).toEqual([]);
  });

  it('lists traces newest first with their services, root and errors', () => {
    const store = new SpanStore();
    store.add([
      span(1, 1, { localEndpoint: { serviceName: 'productpage' }, name: 'get /' }),
      span(1, 2, { parentId: span(1, 1).id, localEndpoint: { serviceName: 'reviews' }, tags: { 'http.status_code': '503' } }),
      span(2, 1, { localEndpoint: { serviceName: 'ratings' } }),
    ]);
    const [newest, older] = store.summaries(10);
    expect(newest).toMatchObject({ traceId: span(2, 1).traceId, services: ['ratings'], error: false });
    expect(older).toMatchObject({ services: ['productpage', 'reviews'], root: 'productpage: get /', error: true, spans: 2 });
    expect(store.recent(10, 'reviews')).toHaveLength(1);
  });
});

describe('readZipkinSpan', () => {
  it('reads Envoy\'s HTTP_JSON span and pads 64-bit ids', () => {
    const r = readZipkinSpan({
      traceId: 'ABC', id: '1', parentId: '2', kind: 'CLIENT', name: 'Reviews:9080/*', timestamp: '1700000000000000', duration: 12,
      localEndpoint: { serviceName: 'ProductPage', ipv4: '127.0.0.1', port: 9080 }, tags: { 'upstream_cluster': 'outbound|9080||reviews', 'response_size': 12 },
      annotations: [{ timestamp: 1, value: 'cs' }], shared: true,
    });
    expect(r).toEqual({
      ok: true,
      span: {
        traceId: '0000000000000abc', id: '0000000000000001', parentId: '0000000000000002', kind: 'CLIENT', name: 'reviews:9080/*', timestamp: 1_700_000_000_000_000, duration: 12,
        localEndpoint: { serviceName: 'productpage', ipv4: '127.0.0.1', port: 9080 }, tags: { upstream_cluster: 'outbound|9080||reviews', response_size: '12' },
        annotations: [{ timestamp: 1, value: 'cs' }], shared: true,
      },
    });
  });

  it('refuses a span without usable ids, naming the field', () => {
    expect(readZipkinSpan([])).toEqual({ ok: false, reason: 'a span must be a JSON object' });
    expect(readZipkinSpan({ traceId: 'x'.repeat(33), id: '1' })).toMatchObject({ ok: false, reason: expect.stringContaining('traceId') });
    expect(readZipkinSpan({ traceId: '1', id: '1'.repeat(17) })).toMatchObject({ ok: false, reason: expect.stringContaining('id must be') });
    expect(readZipkinSpan({ traceId: '1', id: '1', parentId: 'nothex' })).toMatchObject({ ok: false, reason: expect.stringContaining('parentId') });
  });
});
