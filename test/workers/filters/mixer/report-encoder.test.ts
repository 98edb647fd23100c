// The Report encoder: the bytes it writes for a request decode, with the
// service's own protobuf codec (what the control plane runs), to exactly the
// attributes the old object path sent (the bag's wire form through
// protobufjs), for every value type; and its bounds (an entry too large is
// rewound, never half-written).
import { describe, expect, it } from 'vitest';
import type { StaticAttribute, WireAttributeValue } from '../../../../src/config/mixer-filter-config.js';
import { mixerServiceDefinition } from '../../../../src/xds/mixer-protos.js';
import { MIXER_COUNTER, MIXER_COUNTER_SLOTS } from '../../../../workers/filters/mixer/mixer-counters.js';
import { setPolicyTransport } from '../../../../workers/filters/mixer/policy-transport.js';
import { ReportBatcher } from '../../../../workers/filters/mixer/report-batcher.js';
import { GRPC_PREFIX_BYTES, MAX_REPORT_BATCH_BYTES, MAX_REPORT_ENTRY_BYTES, ReportPlan, WireWriter, appendReportEntry } from '../../../../workers/filters/mixer/report-encoder.js';
import { RequestAttributeBag, computedType, type AttributeSource } from '../../../../workers/filters/mixer/request-attribute-bag.js';

function source(headers: string[], over: Partial<AttributeSource> = {}): AttributeSource {
  return {
    method: 'POST', path: '/api/é', query: 'q=1', authority: 'reviews:9080', requestId: 'rid-1', scheme: 'https',
    bytesReceived: 120, bytesSent: 300, responseCode: 201, startMark: performance.now() - 5.25, headers,
    conn: { remoteAddress: '::ffff:10.1.2.3', remotePort: 40000, peerUriSan: 'spiffe://cluster.local/ns/default/sa/bob', tlsVersion: 'TLSv1.3' },
    ...over,
  };
}

const wireStatics: [string, WireAttributeValue][] = [
  ['destination.service.host', { string_value: 'reviews.default.svc.cluster.local' }],
  ['static.negative', { int64_value: -42 }],
  ['static.big', { int64_value: 2 ** 40 + 7 }],
  ['static.ratio', { double_value: 0.25 }],
  ['static.off', { bool_value: false }],
  ['static.blob', { bytes_value: new Uint8Array([0, 1, 2, 255]) }],
  ['static.when', { timestamp_value: { seconds: 1_700_000_000, nanos: 5 } }],
  ['static.zero', { duration_value: { seconds: 0, nanos: 0 } }],
  ['destination.labels', { string_map_value: { entries: { app: 'reviews', version: 'v2' } } }],
];
const statics = new Map<string, StaticAttribute>(wireStatics.map(([name, wire]) => [name, { name, value: 0, wire }]));
const listener = { statics, destinationIp: '10.0.0.9', destinationPort: 9080 };
const NAMES = [
  'request.path', 'request.method', 'response.code', 'request.size', 'connection.mtls', 'request.time', 'response.duration',
  'request.headers', 'source.principal', 'source.ip', 'destination.port', 'not.produced', ...statics.keys(),
];

const report = mixerServiceDefinition().Report!;
const decode = (bytes: Buffer): { attributes: { attributes: Record<string, unknown> }[] } => report.requestDeserialize(bytes) as never;

/** The old path's bytes for the same entries: the bag's wire objects through protobufjs. */
function oldBytes(bags: RequestAttributeBag[]): Buffer {
  return report.requestSerialize({ attributes: bags.map((b) => ({ attributes: b.wireAttributes(NAMES) })) });
}

describe('report encoder', () => {
  it('writes what decodes to the old path\'s attributes, every type, UTF-8 and long values included', () => {
    const long = 'x'.repeat(300) + 'ü';
    const bags = [
      new RequestAttributeBag(source(['user-agent', 'curl/8', 'x-long', long, 'x-multi', 'a', 'x-multi', 'ß']), listener),
      new RequestAttributeBag(source([], { method: '', responseCode: 0, bytesReceived: 0 }), listener),
    ];
    for (const b of bags) b.responded = true;
    const plan = new ReportPlan(NAMES, statics, computedType);
    const w = new WireWriter(64); // small: the buffer must grow mid-entry
    w.pos = GRPC_PREFIX_BYTES;
    for (const b of bags) expect(appendReportEntry(w, plan, b)).toBe(true);
    const mine = decode(w.buf.subarray(GRPC_PREFIX_BYTES, w.pos));
    const theirs = decode(oldBytes(bags));
    // request.time and response.duration read the clock: the same to 100 ms, and at least the 5.25 ms the request took.
    const timeless = (m: typeof mine): unknown => m.attributes.map((a) => {
      const { 'request.time': t, 'response.duration': d, ...rest } = a.attributes as Record<string, { timestamp_value?: { seconds: number; nanos: number }; duration_value?: { seconds: number; nanos: number } }>;
      const ms = (v?: { seconds: number; nanos: number }): number => (v === undefined ? NaN : v.seconds * 1000 + v.nanos / 1e6);
      return { rest, t: ms(t?.timestamp_value), d: ms(d?.duration_value) >= 5.25 };
    });
    const [a, b] = [timeless(mine) as { t: number }[], timeless(theirs) as { t: number }[]];
    expect(a.map((e) => ({ ...e, t: 0 }))).toEqual(b.map((e) => ({ ...e, t: 0 })));
    a.forEach((e, i) => expect(Math.abs(e.t - b[i]!.t)).toBeLessThan(100));
    const first = mine.attributes[0]!.attributes as Record<string, Record<string, unknown>>;
    expect(first['request.headers']).toMatchObject({ string_map_value: { entries: { 'x-long': long, 'x-multi': 'a,ß' } } });
    expect(first['static.negative']).toMatchObject({ int64_value: -42 });
    expect(first['static.off']).toMatchObject({ value: 'bool_value', bool_value: false });
    expect(Buffer.from(first['static.blob']!.bytes_value as Uint8Array)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(first['not.produced']).toBeUndefined();
    // An empty string and a zero are still sent: the oneof says which value is set.
    const second = mine.attributes[1]!.attributes as Record<string, Record<string, unknown>>;
    expect(second['request.method']).toMatchObject({ value: 'string_value', string_value: '' });
    expect(second['request.size']).toMatchObject({ value: 'int64_value', int64_value: 0 });
  });

  it('rewinds an entry past MAX_REPORT_ENTRY_BYTES and keeps the ones before it whole', () => {
    const plan = new ReportPlan(['request.path', 'request.headers'], new Map(), computedType);
    const w = new WireWriter();
    w.pos = GRPC_PREFIX_BYTES;
    const small = new RequestAttributeBag(source(['x-a', 'b']), listener);
    expect(appendReportEntry(w, plan, small)).toBe(true);
    const after = w.pos;
    const huge = new RequestAttributeBag(source(['x-big', 'y'.repeat(MAX_REPORT_ENTRY_BYTES)]), listener);
    expect(appendReportEntry(w, plan, huge)).toBe(false);
    expect(w.pos).toBe(after);
    expect(w.buf.length).toBeLessThanOrEqual(after + MAX_REPORT_ENTRY_BYTES);
    expect(appendReportEntry(w, plan, small)).toBe(true);
    const decoded = decode(w.buf.subarray(GRPC_PREFIX_BYTES, w.pos));
    expect(decoded.attributes).toHaveLength(2);
    expect(decoded.attributes[1]!.attributes['request.path']).toMatchObject({ string_value: '/api/é?q=1' });
  });

  it('clamps an int64 past the type (a Content-Length of 1e400) instead of looping or writing a bad varint', () => {
    const plan = new ReportPlan(['request.size'], new Map(), computedType);
    const w = new WireWriter();
    const bag = new RequestAttributeBag(source(['content-length', '9'.repeat(400)]), listener);
    expect(appendReportEntry(w, plan, bag)).toBe(true);
    expect(Number((decode(w.buf.subarray(0, w.pos)).attributes[0]!.attributes['request.size'] as { int64_value: number }).int64_value)).toBeGreaterThan(9e18);
  });

  it('sends a batch before it passes MAX_REPORT_BATCH_BYTES, each one whole, framed and owning its memory', () => {
    const sent: { bytes: Uint8Array; entries: number }[] = [];
    setPolicyTransport({ check: () => {}, report: (_t, bytes, entries) => sent.push({ bytes, entries }) });
    try {
      const batcher = new ReportBatcher('mixer', 10_000, 60_000);
      const plan = new ReportPlan(['request.path', 'request.headers'], new Map(), computedType);
      const counters = new Int32Array(MIXER_COUNTER_SLOTS);
      const bag = (): RequestAttributeBag => new RequestAttributeBag(source(['x-big', 'z'.repeat(100_000)]), listener);
      for (let i = 0; i < 25; i++) expect(batcher.add(plan, bag(), counters)).toBe(true);
      batcher.flush();
      expect(sent.length).toBeGreaterThanOrEqual(3);
      expect(sent.reduce((n, b) => n + b.entries, 0)).toBe(25);
      for (const { bytes, entries } of sent) {
        expect(bytes.byteLength).toBeLessThanOrEqual(GRPC_PREFIX_BYTES + MAX_REPORT_BATCH_BYTES);
        expect(bytes.byteOffset).toBe(0);
        expect(bytes.buffer.byteLength).toBe(bytes.byteLength); // transferable alone, no pool around it
        const b = Buffer.from(bytes);
        expect(b[0]).toBe(0);
        expect(b.readUInt32BE(1)).toBe(b.length - GRPC_PREFIX_BYTES);
        expect(decode(b.subarray(GRPC_PREFIX_BYTES)).attributes).toHaveLength(entries);
      }
      expect(counters[MIXER_COUNTER.REPORT_ENTRIES_DROPPED]).toBe(0);
    } finally {
      setPolicyTransport({ check: () => {}, report: () => {} });
    }
  });
});

describe('WireWriter', () => {
  it('closes a length near the end of its buffer without losing what follows it', () => {
    const w = new WireWriter(16);
    w.pos = 10;
    const at = w.beginLen(1);
    w.byte(7);
    w.byte(8);
    w.byte(9);
    w.endLen(at, 1);
    expect([...w.buf.subarray(10, w.pos)]).toEqual([3, 7, 8, 9]);
    expect(w.overflow).toBe(false);
  });
});

describe('report encoder against protobufjs, sizes across varint boundaries', () => {
  it('decodes to the same values for 300 entries of random strings, maps and integers in a buffer that starts at 8 bytes', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const sizes = [0, 1, 41, 42, 43, 127, 128, 129, 300, 16383, 16384, 16385, 40000];
    const text = (): string => {
      const n = sizes[rnd(sizes.length)]!;
      let s = '';
      for (let i = 0; i < n; i++) s += rnd(10) === 0 ? String.fromCharCode(0xa0 + rnd(0x60)) : String.fromCharCode(0x20 + rnd(0x5f));
      return s;
    };
    const names = ['request.path', 'request.method', 'response.code', 'request.headers', 'destination.port'];
    const plan = new ReportPlan(names, new Map(), computedType);
    const w = new WireWriter(8);
    const expected: unknown[] = [];
    for (let i = 0; i < 300; i++) {
      const headers: string[] = [];
      for (let h = rnd(4); h > 0; h--) headers.push(`x-h${rnd(1000)}`, text());
      const src = source(headers, { path: text(), query: '', method: text(), responseCode: rnd(3) === 0 ? -rnd(2 ** 31) : rnd(2 ** 31) });
      const bag = new RequestAttributeBag(src, { statics: new Map(), destinationIp: '10.0.0.1', destinationPort: rnd(65536) });
      bag.responded = true;
      expect(appendReportEntry(w, plan, bag)).toBe(true);
      expected.push(bag.wireAttributes(names));
    }
    const mine = decode(w.buf.subarray(0, w.pos)).attributes.map((a) => a.attributes);
    const theirs = decode(report.requestSerialize({ attributes: expected.map((attributes) => ({ attributes })) })).attributes.map((a) => a.attributes);
    expect(mine).toEqual(theirs);
  });
});
