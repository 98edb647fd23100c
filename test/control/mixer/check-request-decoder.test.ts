// The one-pass CheckRequest reader gives the object proto-loader's decoder
// gives (the Mixer Check handler reads either), for every attribute type,
// negative and large int64s, maps, repeated and unknown fields; and malformed
// bytes throw an Error, never anything else and never hang.
import { describe, expect, it } from 'vitest';
import { decodeCheckRequest } from '../../../control/mixer/check-request-decoder.js';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { encodeAttributes } from '../../../control/mixer/attribute-message.js';

const check = () => mixerServiceDefinition().Check!;
const encode = (request: unknown): Buffer => check().requestSerialize(request) as Buffer;
const protoLoader = (bytes: Buffer): unknown => check().requestDeserialize(bytes);
/** Plain objects all the way down (the reader's maps have no prototype; proto-loader's do). */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (Buffer.isBuffer(x) || x instanceof Uint8Array ? `bytes:${Buffer.from(x).toString('hex')}` : x)));

const REQUESTS: unknown[] = [
  {},
  { deduplication_id: 'dedup-ü' },
  { attributes: encodeAttributes({ 'request.path': '/api/items', 'request.headers': { 'x-user': 'alpha', 'user-agent': 'curl' }, 'request.method': 'GET' }) },
  { attributes: encodeAttributes({ 'request.size': 1234, 'response.code': -1, 'big': 2 ** 52 + 7, 'neg.big': -(2 ** 40) - 3, 'ratio': 0.25, 'tls': true, 'off': false }) },
  { attributes: encodeAttributes({ 'request.time': { timestampMs: 1_765_000_000_123 }, 'response.duration': { durationMs: 1500 }, 'zero': { durationMs: 0 } }) },
  { attributes: { attributes: { 'raw': { bytes_value: Buffer.from([0, 1, 2, 255]) }, 'empty': { string_value: '' }, '__proto__': { string_value: 'x' } } } },
  { attributes: encodeAttributes({ 'request.headers': {} }), quotas: { 'requestcount.istio-system': { amount: 3, best_effort: true }, 'other': { amount: 1 } } },
];

describe('decodeCheckRequest', () => {
  it('reads what proto-loader reads for every attribute type, quotas and the deduplication id', () => {
    for (const request of REQUESTS) {
      const bytes = encode(request);
      expect(plain(decodeCheckRequest(bytes))).toEqual(plain(protoLoader(bytes)));
    }
  });

  it('skips unknown fields of every wire type and keeps the last value of a repeated scalar and map key', () => {
    const base = encode(REQUESTS[2]);
    // field 9 varint, field 10 fixed64, field 11 bytes, field 12 fixed32, then deduplication_id twice
    const extra = Buffer.from([0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 0x02, 0x61, 0x62, 0x65, 9, 9, 9, 9, 0x12, 0x01, 0x61, 0x12, 0x01, 0x62]);
    const bytes = Buffer.concat([base, extra]);
    const ours = decodeCheckRequest(bytes);
    expect(plain(ours)).toEqual(plain(protoLoader(bytes)));
    expect(ours.deduplication_id).toBe('b');
  });

  it('throws an Error on truncated or malformed bytes, and never anything else', () => {
    const bytes = encode(REQUESTS[3]);
    for (let cut = 1; cut < bytes.length; cut++) {
      try {
        decodeCheckRequest(bytes.subarray(0, cut));
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
      }
    }
    expect(() => decodeCheckRequest(Buffer.from([0x0a, 0x7f]))).toThrow(RangeError);
    expect(() => decodeCheckRequest(Buffer.from([0x0b]))).toThrow(/wire type 3/);
    expect(() => decodeCheckRequest(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]))).toThrow(/10 bytes/);
    // Random mutations of a real request: an answer or an Error, every time.
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 5000; i++) {
      const m = Buffer.from(bytes);
      for (let k = 0; k < 3; k++) m[rand(m.length)] = rand(256);
      try {
        decodeCheckRequest(m);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
      }
    }
  });
});
