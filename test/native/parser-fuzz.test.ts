// Bounded mutation fuzzing of the native parsers: peer bytes must never crash
// the process, and every answer must stay inside the buffer it was given.
import { describe, expect, it } from 'vitest';
import {
  CHUNKED, HEAD, PARSE_ERROR, decodeChunked, headSlots, parseRequestHead, parseResponseHead,
} from '../../src/native.js';

const CODES = new Set<number>(Object.values(PARSE_ERROR));
const INTERESTING = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x2c, 0x3a, 0x3b, 0x7f, 0x80, 0xff, 0x30, 0x41, 0x66];

/** xorshift32: deterministic, so a failure reproduces. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

function mutate(base: Buffer, next: () => number): Buffer {
  const bytes = Array.from(base);
  const edits = 1 + (next() % 4);
  for (let e = 0; e < edits; e++) {
    const at = next() % (bytes.length + 1);
    const byte = next() % 2 ? INTERESTING[next() % INTERESTING.length]! : next() & 0xff;
    switch (next() % 3) {
      case 0: bytes[Math.min(at, bytes.length - 1)] = byte; break;
      case 1: bytes.splice(at, 0, byte); break;
      default: bytes.splice(at, 1); break;
    }
  }
  return Buffer.from(bytes);
}

const REQUESTS = [
  'POST /a?b=c HTTP/1.1\r\nHost: example:80\r\nContent-Length: 5\r\nConnection: keep-alive, x\r\n\r\nhello',
  'PUT http://h/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n',
  '\r\nGET / HTTP/1.0\r\nX: \t y \r\n\r\n',
];
const RESPONSES = ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: gzip\r\n\r\n', 'HTTP/1.0 404\r\n\r\n'];
const BODIES = ['5;a="b\\"c"\r\nhello\r\n0\r\nT: v\r\n\r\n', 'A\r\n0123456789\r\n0\r\n\r\n'];

describe('native parsers under mutated input', () => {
  it('head parsers stay within the buffer and return only known codes', () => {
    const next = rng(0x15e7);
    const out = new Uint32Array(headSlots(8));
    for (let i = 0; i < 20_000; i++) {
      const response = i % 4 === 3;
      const pool = response ? RESPONSES : REQUESTS;
      const buf = mutate(Buffer.from(pool[i % pool.length]!, 'latin1'), next);
      const start = next() % 3 === 0 ? Math.min(1, buf.length) : 0;
      const parse = response ? parseResponseHead : parseRequestHead;
      const r = parse(buf, start, buf.length, out, 200, 8);
      if (r < 0) {
        expect(CODES.has(r)).toBe(true);
        continue;
      }
      expect(start + r).toBeLessThanOrEqual(buf.length);
      if (r === 0) continue;
      const end = start + r;
      if (!response) expect(out[HEAD.METHOD_END]!).toBeLessThanOrEqual(out[HEAD.TARGET_START]!);
      expect(out[HEAD.TARGET_END]!).toBeLessThanOrEqual(end);
      for (let h = 0; h < out[HEAD.HEADER_COUNT]!; h++) {
        const at = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * h;
        expect(out[at + HEAD.NAME_START]!).toBeLessThan(out[at + HEAD.NAME_END]!);
        expect(out[at + HEAD.NAME_END]!).toBeLessThan(out[at + HEAD.VALUE_START]!);
        expect(out[at + HEAD.VALUE_START]!).toBeLessThanOrEqual(out[at + HEAD.VALUE_END]!);
        expect(out[at + HEAD.VALUE_END]!).toBeLessThanOrEqual(end);
      }
      // a complete head parses the same again, and bytes after it do not change the verdict
      const again = Buffer.concat([buf, Buffer.from('GARBAGE\r\n')]);
      expect(parse(again, start, again.length, out, 200, 8)).toBe(r);
    }
  });

  it('decodeChunked stays within the buffer whatever the bytes and split', () => {
    const next = rng(0xc0ffee);
    const segments = new Uint32Array(4);
    for (let i = 0; i < 20_000; i++) {
      const buf = mutate(Buffer.from(BODIES[i % BODIES.length]!, 'latin1'), next);
      const split = next() % (buf.length + 1);
      const state = new Float64Array(CHUNKED.STATE_SIZE);
      let start = 0;
      for (const end of [split, buf.length]) {
        for (let calls = 0; calls < 1000 && start <= end; calls++) {
          const n = decodeChunked(buf, start, end, state, segments);
          if (n < 0) {
            expect(CODES.has(n)).toBe(true);
            start = Infinity;
            break;
          }
          for (let s = 0; s < n; s++) {
            expect(segments[2 * s]!).toBeGreaterThanOrEqual(start);
            expect(segments[2 * s]!).toBeLessThan(segments[2 * s + 1]!);
            expect(segments[2 * s + 1]!).toBeLessThanOrEqual(end);
          }
          const consumed = state[CHUNKED.CONSUMED]!;
          expect(consumed).toBeGreaterThanOrEqual(start);
          expect(consumed).toBeLessThanOrEqual(end);
          const done = state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE;
          if (done || consumed === end) {
            start = done ? Infinity : consumed;
            break;
          }
          start = consumed;
        }
      }
    }
  });
});
