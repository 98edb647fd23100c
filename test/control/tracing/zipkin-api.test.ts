// The control plane's Zipkin API (POST /api/v2/spans, GET /api/v2/traces,
// GET /api/v2/trace/{id}) on a real `isthmus control`, fed as a reporter
// feeds it and as a hostile peer would: a huge body, bad JSON, the wrong
// content type, a cross-origin page, too many spans. The control plane
// answers each with the right status and stays up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../e2e/control-harness.js';

let control: RunningControl;

beforeAll(async () => {
  control = await startControl();
}, 30_000);

afterAll(async () => {
  await control?.stop();
  control?.remove();
});

const url = (path: string) => `http://127.0.0.1:${control.adminPort}${path}`;

function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): Promise<Response> {
  return fetch(url('/api/v2/spans'), { method: 'POST', headers, body });
}

function span(traceId: string, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { traceId, id, name: 'GET /', kind: 'SERVER', timestamp: 1_700_000_000_000_000, duration: 1500, localEndpoint: { serviceName: 'Reviews' }, ...extra };
}

async function metrics(): Promise<string> {
  return (await control.admin('/metrics')).text;
}

async function stillUp(): Promise<void> {
  expect((await control.admin('/healthz')).status).toBe(200);
}

describe('POST /api/v2/spans', () => {
  it('stores a reporter\'s spans (202) and serves them back as Zipkin does', async () => {
    const res = await post(JSON.stringify([
      span('a1b2c3d4e5f60718', '0000000000000001'),
      span('A1B2C3D4E5F60718', '0000000000000002', { parentId: '0000000000000001', kind: 'CLIENT', tags: { 'http.status_code': '200', n: 5 } }),
    ]));
    expect(res.status).toBe(202);
    const trace = await fetch(url('/api/v2/trace/a1b2c3d4e5f60718'));
    expect(trace.status).toBe(200);
    const spans = (await trace.json()) as Record<string, unknown>[];
    expect(spans).toHaveLength(2);
    expect(spans[1]).toMatchObject({ traceId: 'a1b2c3d4e5f60718', parentId: '0000000000000001', kind: 'CLIENT', name: 'get /', localEndpoint: { serviceName: 'reviews' }, tags: { n: '5' } });
    const list = (await (await fetch(url('/api/v2/traces?limit=5'))).json()) as unknown[][];
    expect(list.some((t) => (t[0] as { traceId: string }).traceId === 'a1b2c3d4e5f60718')).toBe(true);
    expect(await (await fetch(url('/api/v2/services'))).json()).toContain('reviews');
    expect((await fetch(url('/api/v2/trace/ffffffffffffffff'))).status).toBe(404);
    expect(await metrics()).toMatch(/^isthmus_control_spans_accepted_total [1-9]/m);
  });

  it('refuses a body over 1 MiB unread (413)', async () => {
    const big = JSON.stringify(Array.from({ length: 12_000 }, (_, i) => span('1111111111111111', i.toString(16).padStart(16, '0'), { name: 'x'.repeat(60) })));
    expect(big.length).toBeGreaterThan(1024 * 1024);
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('request body over 1048576 bytes');
    expect((await fetch(url('/api/v2/trace/1111111111111111'))).status).toBe(404);
    await stillUp();
  });

  it('answers 400 to bad JSON and to JSON that is not an array of spans', async () => {
    for (const body of ['[{"traceId": ', 'null', '{"traceId":"1"}', '[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]', '[' + '['.repeat(100_000) + ']'.repeat(100_000) + ']']) {
      const res = await post(body);
      expect(res.status, body.slice(0, 40)).toBe(400);
    }
    const bad = await post(JSON.stringify([{ traceId: 'not-hex', id: '0000000000000001' }, { traceId: '1', id: 'zz' }]));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('span 0: traceId must be 16 or 32 lower-hex characters');
    expect(await metrics()).toMatch(/^isthmus_control_spans_dropped_total\{reason="body_rejected"\} [1-9]/m);
    await stillUp();
  });

  it('refuses other content types: a form type (403, the guard) and any non-JSON type (415)', async () => {
    const body = JSON.stringify([span('2222222222222222', '0000000000000001')]);
    expect((await post(body, { 'content-type': 'text/plain' })).status).toBe(403);
    expect((await post(body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(403);
    const other = await post(body, { 'content-type': 'application/x-protobuf' });
    expect(other.status).toBe(415);
    expect(await other.text()).toContain("takes application/json, not 'application/x-protobuf'");
    // Even with the tool header, only JSON is read.
    expect((await post(body, { 'content-type': 'text/plain', 'x-isthmus-admin': '1' })).status).toBe(415);
    expect((await fetch(url('/api/v2/trace/2222222222222222'))).status).toBe(404);
  });

  it('refuses a POST from another web origin (403)', async () => {
    const res = await post(JSON.stringify([span('3333333333333333', '0000000000000001')]), { 'content-type': 'application/json', origin: 'http://evil.example' });
    expect(res.status).toBe(403);
  });

  it('keeps the first 1000 spans of a request and at most 256 per trace, counting the rest', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => span('4444444444444444', (i + 1).toString(16).padStart(16, '0'), { name: 'n' }));
    const res = await post(JSON.stringify(many));
    expect(res.status).toBe(202);
    const spans = (await (await fetch(url('/api/v2/trace/4444444444444444'))).json()) as unknown[];
    expect(spans).toHaveLength(256);
    const text = await metrics();
    expect(text).toMatch(/^isthmus_control_spans_dropped_total\{reason="request_too_many"\} 2000$/m);
    expect(text).toMatch(/^isthmus_control_spans_dropped_total\{reason="trace_full"\} 744$/m);
    await stillUp();
  });

  it('cuts long fields and extra tags to their bounds', async () => {
    const tags = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v'.repeat(5000)]));
    const res = await post(JSON.stringify([span('5555555555555555', '0000000000000001', { name: 'N'.repeat(10_000), tags, localEndpoint: { serviceName: 's'.repeat(9999) } })]));
    expect(res.status).toBe(202);
    const [s] = (await (await fetch(url('/api/v2/trace/5555555555555555'))).json()) as { name: string; tags: Record<string, string>; localEndpoint: { serviceName: string } }[];
    expect(s!.name).toHaveLength(128);
    expect(s!.localEndpoint.serviceName).toHaveLength(128);
    expect(Object.keys(s!.tags)).toHaveLength(32);
    expect(Object.values(s!.tags).every((v) => v.length === 512)).toBe(true);
  });

  it('holds at most 64 MiB of spans however many full-size spans are posted, evicting the oldest traces', async () => {
    // 90 bodies of ~1 MiB, each span at every bound (32 tags of 128 + 512 characters, 16 annotations), over 500
    // trace ids: ~90 MB of span text. The counts alone (500 traces, 20,000 spans) would keep all of it.
    const full = (trace: number, id: number) => span(trace.toString(16).padStart(16, '0'), id.toString(16).padStart(16, '0'), {
      name: 'n'.repeat(128),
      tags: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`${i}`.padEnd(128, 'k'), `${trace}-${id}-${i}`.padEnd(512, 'v')])),
      annotations: Array.from({ length: 16 }, (_, i) => ({ timestamp: i, value: `${trace}-${id}`.padEnd(512, 'a') })),
    });
    let seq = 0;
    for (let request = 0; request < 90; request++) {
      const spans = Array.from({ length: 34 }, () => full((seq % 500) + 1, Math.floor(seq++ / 500) + 1));
      const res = await post(JSON.stringify(spans));
      expect(res.status).toBe(202);
    }
    const text = await metrics();
    const gauge = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    expect(gauge('isthmus_control_traces_stored')).toBeLessThan(500);
    expect(gauge('isthmus_control_trace_store_bytes')).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(gauge('isthmus_control_trace_store_bytes')).toBeGreaterThan(32 * 1024 * 1024);
    // The span posted last is held: the oldest traces made room for it.
    const last = full(((seq - 1) % 500) + 1, Math.floor((seq - 1) / 500) + 1);
    const newest = (await (await fetch(url(`/api/v2/trace/${String(last.traceId)}`))).json()) as { id: string }[];
    expect(newest.map((s) => s.id)).toContain(last.id);
    // A list of 100 of these traces would be ~20 MB, each byte held for a reader that does not read: it stops at ~4 MiB.
    const list = await fetch(url('/api/v2/traces?limit=100'));
    const listed = (JSON.parse(await list.text()) as unknown[][]);
    expect(listed.length).toBeGreaterThan(10);
    expect(listed.length).toBeLessThan(100);
    expect(listed.flat().length * 31_000).toBeLessThan(5 * 1024 * 1024);
    await stillUp();
  });
});
