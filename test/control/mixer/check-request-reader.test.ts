// readCheckRequest (the Mixer Check handler's reader: bytes straight to the
// attribute bag, quotas and deduplication id) gives exactly what the
// proto-loader-shaped decoder followed by decodeAttributes gives, for every
// attribute type, repeated and odd keys, quotas, unknown fields and random
// mutations (or throws where the decoder throws); it reads a message in
// place inside a larger buffer and keeps no view of it (a reused read buffer
// cannot change a request already read); repeated names are one string.
import { describe, expect, it } from 'vitest';
import { decodeCheckRequest } from '../../../control/mixer/check-request-decoder.js';
import { readCheckRequest, type CheckRequestValues } from '../../../control/mixer/check-request-reader.js';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { decodeAttributes, encodeAttributes } from '../../../control/mixer/attribute-message.js';

const encode = (request: unknown): Buffer => mixerServiceDefinition().Check!.requestSerialize(request) as Buffer;
const hex = (x: unknown): unknown => (x instanceof Uint8Array ? `bytes:${Buffer.from(x).toString('hex')}` : typeof x === 'object' && x !== null ? { ...x } : x);

/** The old path (decoder, decodeAttributes, the service's quota reading) as comparable plain values. */
function viaDecoder(bytes: Buffer): unknown {
  const m = decodeCheckRequest(bytes);
  const bag = decodeAttributes(m.attributes);
  const quotas: [string, { amount: number; bestEffort: boolean }][] = [];
  for (const name of Object.keys(m.quotas ?? {})) {
    const amount = Number(m.quotas![name]?.amount ?? 0);
    quotas.push([name, { amount: Number.isFinite(amount) && amount > 0 ? amount : 1, bestEffort: m.quotas![name]?.best_effort === true }]);
  }
  return { attributes: [...bag.entries()].map(([k, v]) => [k, hex(v)]).sort(), quotas: quotas.sort(), id: String(m.deduplication_id ?? '') };
}

function viaReader(r: CheckRequestValues): unknown {
  return { attributes: [...r.bag.entries()].map(([k, v]) => [k, hex(v)]).sort(), quotas: [...r.quotas].map(([k, v]) => [k, { ...v }]).sort(), id: r.deduplicationId };
}

const REQUESTS: unknown[] = [
  {},
  { deduplication_id: 'dedup-ü' },
  { attributes: encodeAttributes({ 'request.path': '/api/items', 'request.headers': { 'X-User': 'alpha', 'user-agent': 'curl', 'Ünï': 'x' }, 'request.method': 'GET' }) },
  { attributes: encodeAttributes({ 'request.size': 1234, 'response.code': -1, 'big': 2 ** 52 + 7, 'neg.big': -(2 ** 40) - 3, 'ratio': 0.25, 'tls': true, 'off': false }) },
  { attributes: encodeAttributes({ 'request.time': { timestampMs: 1_765_000_000_123 }, 'response.duration': { durationMs: 1500 }, 'zero': { durationMs: 0 } }) },
  { attributes: { attributes: { 'raw': { bytes_value: Buffer.from([0, 1, 2, 255]) }, 'empty': { string_value: '' }, '__proto__': { string_value: 'x' }, 'none': {} } } },
  { attributes: encodeAttributes({ 'request.headers': { '__proto__': 'p', '__PROTO__': 'q', 'constructor': 'c' } }), quotas: { 'requestcount.istio-system': { amount: 3, best_effort: true }, 'other': { amount: 1 }, 'zero': { amount: 0 }, 'neg': { amount: -4 } } },
  { attributes: encodeAttributes({ [`long.${'n'.repeat(80)}`]: 'v', 'x': 'y' }) },
];

describe('readCheckRequest', () => {
  it('reads what the decoder and decodeAttributes read, for every attribute type, odd keys and quotas', () => {
    for (const request of REQUESTS) {
      const bytes = encode(request);
      expect(viaReader(readCheckRequest(bytes))).toEqual(viaDecoder(bytes));
    }
  });

  it('a later map entry or repeated message field wins or merges as protobuf says, unknown fields are skipped', () => {
    const a = encode({ attributes: encodeAttributes({ 'request.path': '/first', 'keep': 'k' }), quotas: { q: { amount: 2 } } });
    const b = encode({ attributes: { attributes: { 'request.path': {} } }, quotas: { q: { best_effort: true } }, deduplication_id: 'two' });
    const extra = Buffer.from([0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 0x02, 0x61, 0x62, 0x65, 9, 9, 9, 9]);
    const bytes = Buffer.concat([a, extra, b]);
    const r = readCheckRequest(bytes);
    expect(viaReader(r)).toEqual(viaDecoder(bytes));
    expect(r.bag.get('request.path')).toBeUndefined();
    expect(r.bag.get('keep')).toBe('k');
  });

  it('reads a message in place inside a larger buffer and keeps nothing of it: a reused buffer changes no request read before', () => {
    const bytes = encode(REQUESTS[5]);
    const big = Buffer.concat([Buffer.alloc(17, 0xee), bytes, Buffer.alloc(9, 0xee)]);
    const r = readCheckRequest(big, 17, 17 + bytes.length);
    const before = viaReader(r);
    expect(before).toEqual(viaDecoder(bytes));
    big.fill(0x41); // the transport reuses its read buffer for the next read
    expect(viaReader(r)).toEqual(before);
  });

  it('gives repeated attribute and header names as one string each, and names as they were sent', () => {
    const bytes = encode(REQUESTS[2]);
    const one = readCheckRequest(bytes);
    const two = readCheckRequest(Buffer.from(bytes));
    const names = (r: CheckRequestValues): string[] => [...r.bag.entries()].map(([k]) => k);
    expect(names(one)).toEqual(['request.path', 'request.headers', 'request.method']);
    expect(names(two)).toEqual(names(one));
    expect(Object.keys(two.bag.get('request.headers') as object)).toEqual(['x-user', 'user-agent', 'ünï']);
  });

  it('throws an Error where the decoder throws, on truncated, malformed and mutated bytes', () => {
    const bytes = encode(REQUESTS[3]);
    const outcome = (f: () => unknown): unknown => {
      try {
        return f();
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        return 'threw';
      }
    };
    for (let cut = 1; cut < bytes.length; cut++) {
      const part = bytes.subarray(0, cut);
      const ours = outcome(() => viaReader(readCheckRequest(part)));
      expect(ours).toEqual(outcome(() => viaDecoder(part)));
    }
    let seed = 11;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (const request of [REQUESTS[2], REQUESTS[6]]) {
      const base = encode(request);
      for (let i = 0; i < 3000; i++) {
        const m = Buffer.from(base);
        for (let k = 0; k < 3; k++) m[rand(m.length)] = rand(256);
        expect(outcome(() => viaReader(readCheckRequest(m)))).toEqual(outcome(() => viaDecoder(m)));
      }
    }
  });
});
