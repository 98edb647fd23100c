import { describe, expect, it } from 'vitest';
import { CHUNKED, PARSE_ERROR, decodeChunked, decodeChunkedInPlace } from '../../src/native.js';
import { decodeChunkedParts, type DecodedBody } from './parse-helpers.js';

const BODY = '5;name=value;q="a \\" b"\r\nhello\r\n0A\r\n0123456789\r\n1 ; ext\r\n!\r\n0\r\nX-Trailer: v\r\nY: caf\xe9\r\n\r\n';
const NEXT = 'GET /next HTTP/1.1\r\n';
const MALFORMED: Array<[string, number]> = [
  ['g\r\n', PARSE_ERROR.BAD_CHUNK_SIZE],
  [' 5\r\nhello\r\n', PARSE_ERROR.BAD_CHUNK_SIZE],
  ['5\r\nhello\r\r', PARSE_ERROR.BAD_CHUNK_TERMINATOR],
  ['5\r\nhelloworld', PARSE_ERROR.BAD_CHUNK_TERMINATOR],
  ['5;a\x00b\r\n', PARSE_ERROR.BAD_CHUNK_SIZE],
  ['5;a="x\ry"\r\n', PARSE_ERROR.INVALID_LINE_ENDING],
  ['5\rX', PARSE_ERROR.INVALID_LINE_ENDING],
  [`1;${'x'.repeat(4093)}\r\na\r\n`, PARSE_ERROR.CHUNK_LINE_TOO_LONG],
  ['0\r\n: v\r\n\r\n', PARSE_ERROR.INVALID_TRAILER],
  ['0\r\nX: a\x00\r\n\r\n', PARSE_ERROR.INVALID_TRAILER],
  ['0\r\nX: a\r\n\rX', PARSE_ERROR.INVALID_LINE_ENDING],
  ['0\r\n\n', PARSE_ERROR.INVALID_LINE_ENDING],
  [`0\r\n${'X-T: v\r\n'.repeat(8000)}\r\n`, PARSE_ERROR.TRAILERS_TOO_LARGE],
];

function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

describe('decodeChunked', () => {
  it('finds the data ranges without copying and stops just past the message', () => {
    const buf = bytes(BODY + NEXT);
    const state = new Float64Array(CHUNKED.STATE_SIZE);
    const segments = new Uint32Array(16);
    const n = decodeChunked(buf, 0, buf.length, state, segments);
    expect(n).toBe(3);
    const at = (s: string) => [BODY.indexOf(s), BODY.indexOf(s) + s.length];
    expect(Array.from(segments.subarray(0, 6))).toEqual([...at('hello'), ...at('0123456789'), ...at('!')]);
    expect(buf.latin1Slice(segments[0]!, segments[1]!)).toBe('hello');
    expect(state[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
    expect(state[CHUNKED.CONSUMED]).toBe(BODY.length);
    // a finished decoder consumes nothing more
    expect(decodeChunked(buf, BODY.length, buf.length, state, segments)).toBe(0);
    expect(state[CHUNKED.CONSUMED]).toBe(BODY.length);
  });

  it('decodes the same body split into two buffers at every byte position', () => {
    const all = bytes(BODY + NEXT);
    for (let k = 0; k <= all.length; k++) {
      const r = decodeChunkedParts([Buffer.from(all.subarray(0, k)), Buffer.from(all.subarray(k))]);
      expect([k, r]).toEqual([k, { error: 0, data: 'hello0123456789!', done: true, end: BODY.length }]);
    }
  });

  it('decodes one byte per call and with room for a single range per call', () => {
    const all = bytes(BODY);
    const oneByte = Array.from({ length: all.length }, (_, i) => all.subarray(i, i + 1));
    expect(decodeChunkedParts(oneByte)).toEqual({ error: 0, data: 'hello0123456789!', done: true, end: BODY.length });
    expect(decodeChunkedParts([all], 1)).toEqual({ error: 0, data: 'hello0123456789!', done: true, end: BODY.length });
  });

  it('stops early when segments are full and resumes from CONSUMED', () => {
    const buf = bytes('3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n');
    const state = new Float64Array(CHUNKED.STATE_SIZE);
    const segments = new Uint32Array(2);
    expect(decodeChunked(buf, 0, buf.length, state, segments)).toBe(1);
    expect(state[CHUNKED.CONSUMED]).toBe(11); // after "3\r\ndef\r\n3\r\n": the second range is pending
    expect(buf.latin1Slice(segments[0]!, segments[1]!)).toBe('abc');
    expect(decodeChunked(buf, state[CHUNKED.CONSUMED]!, buf.length, state, segments)).toBe(1);
    expect(buf.latin1Slice(segments[0]!, segments[1]!)).toBe('def');
    expect(state[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
    expect(state[CHUNKED.CONSUMED]).toBe(buf.length);
  });

  it('handles a large chunk spread over many buffers', () => {
    const size = 300_000;
    const body = bytes(`${size.toString(16)}\r\n${'z'.repeat(size)}\r\n0\r\n\r\n`);
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += 65536) parts.push(body.subarray(i, i + 65536));
    const r = decodeChunkedParts(parts);
    expect(r.done).toBe(true);
    expect(r.data.length).toBe(size);
  });

  it('accepts 15 hex digits of leading zeros but refuses a size above 2^53 - 1', () => {
    expect(decodeChunkedParts([bytes('000000000000003\r\nabc\r\n0\r\n\r\n')]).data).toBe('abc');
    expect(decodeChunkedParts([bytes('0000000000000003\r\nabc\r\n0\r\n\r\n')]).error).toBe(PARSE_ERROR.BAD_CHUNK_SIZE);
    expect(decodeChunkedParts([bytes('20000000000000\r\n')]).error).toBe(PARSE_ERROR.BAD_CHUNK_SIZE);
    const state = new Float64Array(CHUNKED.STATE_SIZE);
    expect(decodeChunked(bytes('1fffffffffffff\r\n'), 0, 16, state, new Uint32Array(2))).toBe(0);
    expect(state[1]).toBe(2 ** 53 - 1);
  });

  it('refuses malformed framing', () => {
    for (const [raw, code] of MALFORMED) expect([raw.slice(0, 40), decodeChunkedParts([bytes(raw)]).error]).toEqual([raw.slice(0, 40), code]);
    // a size line of exactly 4096 bytes (CRLF included) is fine
    expect(decodeChunkedParts([bytes(`1;${'x'.repeat(4092)}\r\na\r\n0\r\n\r\n`)]).data).toBe('a');
  });

  it('throws TypeError/RangeError for bad arguments, including a corrupted state', () => {
    const buf = bytes('0\r\n\r\n');
    const segs = new Uint32Array(2);
    const call = (...args: unknown[]) => () => (decodeChunked as (...a: unknown[]) => number)(...args);
    expect(call(buf, 0, 5, new Float32Array(8), segs)).toThrow(TypeError);
    expect(call(buf, 0, 5, new Float64Array(8), new Uint16Array(2))).toThrow(TypeError);
    expect(call(buf, 0, 5, new Float64Array(4), segs)).toThrow(RangeError);
    expect(call(buf, 0, 5, new Float64Array(8), new Uint32Array(1))).toThrow(RangeError);
    expect(call(buf, 0, 6, new Float64Array(8), segs)).toThrow(RangeError);
    expect(call(buf, 0, 5, Float64Array.of(99, 0, 0, 0, 0, 0, 0, 0), segs)).toThrow(RangeError);
    expect(call(buf, 0, 5, Float64Array.of(7, NaN, 0, 0, 0, 0, 0, 0), segs)).toThrow(RangeError);
    expect(call(buf, 0, 5, Float64Array.of(7, -1, 0, 0, 0, 0, 0, 0), segs)).toThrow(RangeError);
  });
});

/** Feeds `parts` (copies: the decoder writes into them) to decodeChunkedInPlace, one call per part, as a socket read loop does. */
function decodeInPlaceParts(parts: readonly Buffer[]): DecodedBody & { calls: number } {
  const state = new Float64Array(CHUNKED.STATE_SIZE);
  let data = '';
  let offset = 0;
  let calls = 0;
  for (const original of parts) {
    const part = Buffer.from(original);
    calls++;
    const n = decodeChunkedInPlace(part, 0, part.length, state);
    if (n < 0) return { error: n, data, done: false, end: -1, calls };
    data += part.latin1Slice(0, n);
    const consumed = state[CHUNKED.CONSUMED]!;
    if (state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) {
      // Nothing past the message was touched.
      expect(part.subarray(consumed).equals(original.subarray(consumed))).toBe(true);
      return { error: 0, data, done: true, end: offset + consumed, calls };
    }
    expect(consumed).toBe(part.length);
    offset += part.length;
  }
  return { error: 0, data, done: false, end: -1, calls };
}

describe('decodeChunkedInPlace', () => {
  it('compacts the data of a whole read to its start, one call, and leaves what follows the message alone', () => {
    const buf = bytes(`xx${BODY}${NEXT}`);
    const state = new Float64Array(CHUNKED.STATE_SIZE);
    const n = decodeChunkedInPlace(buf, 2, buf.length, state);
    expect(n).toBe('hello0123456789!'.length);
    expect(buf.latin1Slice(0, 2 + n)).toBe('xxhello0123456789!');
    expect(state[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
    expect(state[CHUNKED.CONSUMED]).toBe(2 + BODY.length);
    expect(buf.latin1Slice(2 + BODY.length)).toBe(NEXT);
  });

  it('decodes the same body split into two reads at every byte position, as decodeChunked does', () => {
    const all = bytes(BODY + NEXT);
    for (let k = 0; k <= all.length; k++) {
      const parts = [all.subarray(0, k), all.subarray(k)];
      const { calls: _calls, ...r } = decodeInPlaceParts(parts);
      expect([k, r]).toEqual([k, decodeChunkedParts(parts)]);
    }
  });

  it('says where each read\'s share of the trailer section begins, left untouched, split at every byte position', () => {
    const section = BODY.slice(BODY.indexOf('0\r\nX-Trailer') + 3);
    for (let cut = 1; cut < BODY.length; cut++) {
      const state = new Float64Array(CHUNKED.STATE_SIZE);
      let trailer = '';
      for (const [from, to] of [[0, cut], [cut, BODY.length]] as const) {
        const buf = bytes(BODY);
        expect(decodeChunkedInPlace(buf, from, to, state)).toBeGreaterThanOrEqual(0);
        trailer += buf.latin1Slice(state[CHUNKED.TRAILER_START]!, state[CHUNKED.CONSUMED]!);
      }
      expect(trailer, `cut at ${cut}`).toBe(section);
    }
    // No trailer section in a read: TRAILER_START is CONSUMED.
    const state = new Float64Array(CHUNKED.STATE_SIZE);
    decodeChunkedInPlace(bytes('5\r\nhello\r\n'), 0, 10, state);
    expect(state[CHUNKED.TRAILER_START]).toBe(state[CHUNKED.CONSUMED]);
  });

  it('turns a body of 1-byte chunks into one range per read', () => {
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const wire = Buffer.concat([...Array.from(data, (b) => Buffer.from([0x31, 13, 10, b, 13, 10])), bytes('0\r\n\r\n')]);
    const parts: Buffer[] = [];
    for (let i = 0; i < wire.length; i += 65536) parts.push(wire.subarray(i, i + 65536));
    const r = decodeInPlaceParts(parts);
    expect(r.done).toBe(true);
    expect(r.calls).toBe(parts.length);
    expect(Buffer.from(r.data, 'latin1').equals(data)).toBe(true);
  });

  it('refuses malformed framing with the same errors as decodeChunked', () => {
    for (const [raw, code] of MALFORMED) {
      expect([raw.slice(0, 40), decodeInPlaceParts([bytes(raw)]).error]).toEqual([raw.slice(0, 40), code]);
      if (raw.length > 5000) continue;
      const oneByte = Array.from(bytes(raw), (b) => Buffer.from([b]));
      expect([raw.slice(0, 40), decodeInPlaceParts(oneByte).error]).toEqual([raw.slice(0, 40), code]);
    }
  });

  it('agrees with decodeChunked on mutated bodies split at random (same data, errors, end)', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const alphabet = bytes('0123456789abcdefABCDEFgG;= "\\\t\r\n:\x00\x7f\xff');
    const base = bytes(BODY + NEXT);
    for (let round = 0; round < 3000; round++) {
      const input = Buffer.from(base);
      for (let m = random(4); m >= 0; m--) input[random(input.length)] = alphabet[random(alphabet.length)]!;
      const cut = random(input.length + 1);
      const parts = [input.subarray(0, cut), input.subarray(cut)];
      const { calls: _calls, ...r } = decodeInPlaceParts(parts);
      expect([input.toString('latin1'), cut, r]).toEqual([input.toString('latin1'), cut, decodeChunkedParts(parts)]);
    }
  });

  it('throws TypeError/RangeError for bad arguments, including a corrupted state', () => {
    const buf = bytes('0\r\n\r\n');
    const call = (...args: unknown[]) => () => (decodeChunkedInPlace as (...a: unknown[]) => number)(...args);
    expect(call('0\r\n\r\n', 0, 5, new Float64Array(8))).toThrow(TypeError);
    expect(call(buf, 0, 5, new Float32Array(8))).toThrow(TypeError);
    expect(call(buf, 0, 5, new Float64Array(4))).toThrow(RangeError);
    expect(call(buf, 3, 2, new Float64Array(8))).toThrow(RangeError);
    expect(call(buf, 0, 6, new Float64Array(8))).toThrow(RangeError);
    expect(call(buf, 0, 5, Float64Array.of(99, 0, 0, 0, 0, 0, 0, 0))).toThrow(RangeError);
    expect(call(buf, 0, 5, Float64Array.of(7, NaN, 0, 0, 0, 0, 0, 0))).toThrow(RangeError);
  });
});
