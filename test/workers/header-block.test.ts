import { describe, expect, it } from 'vitest';
import { HEADER_ID, headSlots, parseRequestHead } from '../../src/native.js';
import { findHeader, hasValueById, headerValueById } from '../../workers/header-block.js';

/** Parses a request head with the real native parser; returns its bytes and slots. */
function parsed(head: string): { buf: Buffer; out: Uint32Array } {
  const buf = Buffer.from(head, 'latin1');
  const out = new Uint32Array(headSlots(32));
  const n = parseRequestHead(buf, 0, buf.length, out, 8192, 32);
  expect(n).toBe(buf.length);
  return { buf, out };
}

describe('findHeader', () => {
  it('finds a header by name among others of the same length, case-insensitively as the parser lowercases', () => {
    const { buf, out } = parsed('GET / HTTP/1.1\r\nHost: a\r\nAccept: x/y\r\nORIGIN: http://o.example\r\n\r\n');
    expect(findHeader(buf, out, 'origin')).toBe('http://o.example');
    expect(findHeader(buf, out, 'accept')).toBe('x/y');
    expect(findHeader(buf, out, 'origins')).toBeUndefined();
    expect(findHeader(buf, out, 'user-agent')).toBeUndefined();
  });
});

describe('hasValueById', () => {
  it('agrees with headerValueById(...) !== "" (absent, empty, repeated empty, present)', () => {
    const cases = [
      ['GET / HTTP/1.1\r\nHost: a\r\n\r\n', false],
      ['GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto:\r\n\r\n', false],
      ['GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto:\r\nx-forwarded-proto: \r\n\r\n', false],
      ['GET / HTTP/1.1\r\nHost: a\r\nx-forwarded-proto:\r\nX-Forwarded-Proto: https\r\n\r\n', true],
    ] as const;
    for (const [head, expected] of cases) {
      const { buf, out } = parsed(head);
      expect(hasValueById(out, HEADER_ID.X_FORWARDED_PROTO)).toBe(expected);
      expect(headerValueById(buf, out, HEADER_ID.X_FORWARDED_PROTO) !== '').toBe(expected);
    }
  });
});
