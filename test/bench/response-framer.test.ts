import { describe, expect, it } from 'vitest';
import { ResponseFramer } from '../../bench/response-framer.js';
import { FRAMER_STATE, frameResponses } from '../../src/native.js';

const ok = (body: string): string => `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

function feedAll(framer: ResponseFramer, text: string, pieceSize: number): number {
  const bytes = Buffer.from(text, 'latin1');
  let done = 0;
  for (let i = 0; i < bytes.length; i += pieceSize) done += framer.feed(bytes, i, Math.min(bytes.length, i + pieceSize));
  return done;
}

describe('ResponseFramer', () => {
  it('counts a response only once its whole body has arrived', () => {
    const framer = new ResponseFramer();
    const bytes = Buffer.from(ok('x'.repeat(1024)));
    expect(framer.feed(bytes, 0, bytes.length - 1)).toBe(0);
    expect(framer.feed(bytes, bytes.length - 1, bytes.length)).toBe(1);
  });

  it('frames the same however the bytes are split', () => {
    const stream = ok('hello') + ok('x'.repeat(3000)) + ok('');
    for (const size of [1, 2, 7, 64, 100_000]) {
      const framer = new ResponseFramer();
      expect(feedAll(framer, stream, size)).toBe(3);
      expect(framer.malformed).toBe(false);
    }
  });

  it('reads Content-Length in any letter case and ignores other headers that look alike', () => {
    const text = 'HTTP/1.1 200 OK\r\nX-Content-Length: 99\r\nCONTENT-LENGTH: 3\r\n\r\nabc' + ok('z');
    expect(feedAll(new ResponseFramer(), text, 5)).toBe(2);
  });

  it('frames chunked bodies, with extensions and trailers', () => {
    const chunked =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n' +
      '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n';
    for (const size of [1, 3, 1000]) {
      expect(feedAll(new ResponseFramer(), chunked + ok('after'), size)).toBe(2);
    }
  });

  it('counts status >= 400 as error responses and completes bodyless 204', () => {
    const framer = new ResponseFramer();
    const text = 'HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\nno' + 'HTTP/1.1 204 No Content\r\n\r\n' + ok('y');
    expect(feedAll(framer, text, 4)).toBe(3);
    expect(framer.errorResponses).toBe(1);
  });

  it('skips a 100 Continue interim response', () => {
    expect(feedAll(new ResponseFramer(), `HTTP/1.1 100 Continue\r\n\r\n${ok('a')}`, 2)).toBe(1);
  });

  it('flags a stream that is not HTTP', () => {
    const framer = new ResponseFramer();
    feedAll(framer, 'SSH-2.0-OpenSSH_9.2\r\n', 64);
    expect(framer.malformed).toBe(true);
  });

  it('(native) refuses a state array it did not write and out-of-range offsets, instead of crashing', () => {
    const bytes = Buffer.from(ok('a'));
    const forged = new Float64Array(FRAMER_STATE.SIZE);
    forged[2] = 99; // no such parser state
    expect(() => frameResponses(forged, bytes, 0, bytes.length)).toThrow(/state must be a Float64Array\(15\) this function wrote/);
    expect(() => frameResponses(new Float64Array(3), bytes, 0, bytes.length)).toThrow(/Float64Array\(15\)/);
    expect(() => frameResponses(new Float64Array(FRAMER_STATE.SIZE), bytes, 0, bytes.length + 1)).toThrow(/end out of range/);
  });
});
