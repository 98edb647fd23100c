// checkPartialRequestHead: a head arriving in pieces is refused as soon as the
// bytes so far cannot begin a valid head, with the error parseRequestHead gives,
// and checking it piece by piece costs linear time.
import { describe, expect, it } from 'vitest';
import {
  PARSE_ERROR, PARTIAL_HEAD, checkPartialRequestHead, headSlots, parseRequestHead,
} from '../../src/native.js';
import { malformedRequests } from './malformed-requests.js';

const MAX_HEAD = 60 * 1024;
const MAX_HEADERS = 100;
const out = new Uint32Array(headSlots(MAX_HEADERS));
/** Errors only a complete head can show (framing and Host semantics): the partial check leaves them to the parser. */
const SEMANTIC = new Set<number>([
  PARSE_ERROR.INVALID_CONTENT_LENGTH, PARSE_ERROR.DUPLICATE_CONTENT_LENGTH, PARSE_ERROR.CONTENT_LENGTH_WITH_TRANSFER_ENCODING,
  PARSE_ERROR.INVALID_TRANSFER_ENCODING, PARSE_ERROR.DUPLICATE_HOST, PARSE_ERROR.MISSING_HOST,
]);

/** Feeds raw in pieces of `step` bytes, as a connection keeps them; returns the first non-zero verdict and where. */
function feed(raw: Buffer, step: number, maxHeadBytes = MAX_HEAD, maxHeaders = MAX_HEADERS): { r: number; at: number } {
  const state = new Uint32Array(PARTIAL_HEAD.STATE_SIZE);
  for (let at = Math.min(step, raw.length); ; at = Math.min(at + step, raw.length)) {
    const kept = Buffer.from(raw.subarray(0, at)); // a fresh copy each time, as DownstreamConnection re-joins its bytes
    const r = checkPartialRequestHead(kept, 0, kept.length, state, maxHeadBytes, maxHeaders);
    if (r !== 0 || at === raw.length) return { r, at };
  }
}

/** The parser's verdict on the first `length` bytes. */
function parsePrefix(raw: Buffer, length: number, maxHeadBytes = MAX_HEAD, maxHeaders = MAX_HEADERS): number {
  const copy = Buffer.from(raw.subarray(0, length));
  return parseRequestHead(copy, 0, copy.length, out, maxHeadBytes, maxHeaders);
}

describe('checkPartialRequestHead', () => {
  it('refuses the split malformed heads at their offending byte, with the parser\'s error', () => {
    const cases = {
      'bare LF': 'GET / HTTP/1.1\r\nHost: a\nX: y\n',
      'NUL in a value': 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b',
      'space before colon': 'GET / HTTP/1.1\r\nHost: a\r\nX : y',
      'obs-fold': 'GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z',
      'bare CR': 'GET / HTTP/1.1\r\nHost: a\rX',
      'bad target byte': 'GET /a\x7fb',
      'bad version': 'GET / HTTP/2.0',
    };
    for (const [name, text] of Object.entries(cases)) {
      const raw = Buffer.from(text, 'latin1');
      for (const step of [1, 3, 17]) {
        const { r, at } = feed(raw, step);
        expect(r, `${name} step ${step}`).toBeLessThan(0);
        expect(r, name).toBe(parsePrefix(raw, raw.length));
        expect(at - step, `${name} refused late`).toBeLessThan(raw.length);
      }
    }
  });

  it('agrees with parseRequestHead on every prefix of the malformed corpus and valid heads', () => {
    const valid = [
      'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
      '\r\n\r\nPOST http://h:8/x?y HTTP/1.0\r\nHost: h\r\nContent-Length: 3\r\nX: \t v \t\r\n\r\nabc',
      'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n',
      'OPTIONS * HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n',
    ];
    const inputs = [...valid, ...malformedRequests.map((c) => c.raw)].map((s) => Buffer.from(s, 'latin1'));
    for (const raw of inputs) {
      const state = new Uint32Array(PARTIAL_HEAD.STATE_SIZE);
      for (let length = 1; length <= raw.length; length++) {
        const kept = Buffer.from(raw.subarray(0, length));
        const r = checkPartialRequestHead(kept, 0, length, state, 4096, 20);
        const parsed = parsePrefix(raw, length, 4096, 20);
        const label = `${JSON.stringify(raw.latin1Slice(0, length))}`;
        if (r > 0) {
          // complete: the parser sees the same head, or refuses it for a semantic reason
          expect(parsed === r || SEMANTIC.has(parsed), label).toBe(true);
          break;
        }
        if (r < 0) {
          expect(r, label).toBe(parsed);
          break;
        }
        expect(parsed === 0 || SEMANTIC.has(parsed), label).toBe(true);
      }
    }
  });

  it('refuses too many headers and an oversized head while they arrive', () => {
    let head = 'GET / HTTP/1.1\r\n';
    for (let i = 0; i < 5; i++) head += `X-${i}: v\r\n`;
    expect(feed(Buffer.from(`${head}X-5`), 4, MAX_HEAD, 5).r).toBe(PARSE_ERROR.TOO_MANY_HEADERS);
    expect(feed(Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(300)}`), 50, 256).r).toBe(PARSE_ERROR.HEAD_TOO_LARGE);
  });

  it('returns the head length when the final empty line arrives', () => {
    const raw = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\nNEXT');
    expect(feed(raw, 1).r).toBe(raw.length - 4);
  });

  it('checks a head trickled byte by byte in linear time', () => {
    // 60 KiB: one long target and one long value. Re-scanning from the start on every byte would be
    // ~1.8e9 byte visits; the incremental check visits each byte about once. Counted, not timed:
    // the state's position must only move forward, one step per call here.
    const raw = Buffer.from(`GET /${'a'.repeat(20_000)} HTTP/1.1\r\nX: ${'b'.repeat(40_000)}`);
    const state = new Uint32Array(PARTIAL_HEAD.STATE_SIZE);
    const kept = Buffer.from(raw);
    let lastPos = 0;
    let regressions = 0;
    for (let at = 1; at <= raw.length; at++) {
      expect(checkPartialRequestHead(kept, 0, at, state, MAX_HEAD, MAX_HEADERS)).toBe(0);
      if (state[1]! < lastPos) regressions++;
      lastPos = state[1]!;
    }
    expect(regressions).toBe(0);
    expect(lastPos).toBe(raw.length);
  });
});
