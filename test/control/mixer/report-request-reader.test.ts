// readReportRequest (the Mixer Report handler's reader: bytes straight to one
// attribute bag per entry) gives exactly what proto-loader's decoder followed
// by decodeAttributes gives, entry by entry, for every attribute type; past
// MAX_REPORT_BATCH entries it counts without building; malformed bytes throw.
import { describe, expect, it } from 'vitest';
import { readReportRequest, MAX_REPORT_BATCH } from '../../../control/mixer/report-request-reader.js';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { decodeAttributes, encodeAttributes, type AttributesMessage } from '../../../control/mixer/attribute-message.js';

const report = mixerServiceDefinition().Report!;
const encode = (request: unknown): Buffer => report.requestSerialize(request) as Buffer;
const hex = (x: unknown): unknown => (x instanceof Uint8Array ? `bytes:${Buffer.from(x).toString('hex')}` : typeof x === 'object' && x !== null ? { ...x } : x);
const plain = (entries: Iterable<[string, unknown]>): unknown => [...entries].map(([k, v]) => [k, hex(v)]);

const ENTRIES: AttributesMessage[] = [
  encodeAttributes({ 'request.method': 'GET', 'request.path': '/', 'request.time': { timestampMs: 1_796_651_907_658 }, 'response.code': 200, 'response.duration': { durationMs: 403 }, 'context.protocol': 'http' }),
  encodeAttributes({ 'request.headers': { 'X-User': 'alpha', 'Ünï': 'x', '__proto__': 'p' }, 'ratio': 0.25, 'tls': true, 'off': false, 'neg.big': -(2 ** 40) - 3 }),
  { attributes: { 'raw': { bytes_value: Buffer.from([10, 0, 0, 7]) }, 'empty': { string_value: '' }, '__proto__': { string_value: 'x' }, 'none': {} } },
  {},
];

describe('readReportRequest', () => {
  it('reads each entry as the decoder and decodeAttributes do, for every attribute type and odd keys', () => {
    const bytes = encode({ attributes: ENTRIES });
    const read = readReportRequest(bytes);
    const decoded = (report.requestDeserialize(bytes) as { attributes: AttributesMessage[] }).attributes.map((a) => decodeAttributes(a));
    expect(read.entries).toBe(ENTRIES.length);
    expect(read.bags.map((b) => plain(b.entries()))).toEqual(decoded.map((b) => plain(b.entries())));
    expect(readReportRequest(encode({}))).toEqual({ bags: [], entries: 0 });
  });

  it(`counts entries past ${MAX_REPORT_BATCH} without building them`, () => {
    const one = encode({ attributes: [ENTRIES[0]] });
    const bytes = Buffer.concat(Array.from({ length: MAX_REPORT_BATCH + 3 }, () => one));
    const read = readReportRequest(bytes);
    expect(read.entries).toBe(MAX_REPORT_BATCH + 3);
    expect(read.bags).toHaveLength(MAX_REPORT_BATCH);
  });

  it('throws RangeError on truncated bytes', () => {
    const bytes = encode({ attributes: ENTRIES.slice(0, 2) });
    let threw = 0;
    for (let cut = 1; cut < bytes.length; cut++) {
      try {
        readReportRequest(bytes.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
        threw++;
      }
    }
    expect(threw).toBeGreaterThan(bytes.length / 2);
  });
});
