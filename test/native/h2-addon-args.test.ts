// The native HTTP/2 calls that read the proxy's HTTP/1.1 heads (h2cRequestHead, h2Respond with a Buffer) check
// what JS hands them before reading it: the :scheme's length, and [start, end) inside the head (or, for
// h2Write, inside the data).
import { describe, expect, it } from 'vitest';
import { h2Respond, h2Write, h2cRequestHead } from '../../src/native.js';
import { h2EventBuffers } from '../../workers/http2/native-h2-session.js';

const HEAD = Buffer.from('GET / HTTP/1.1\r\nhost: a\r\n\r\n', 'latin1');

describe('native HTTP/2 head calls', () => {
  h2EventBuffers(); // h2Init on this thread

  it('h2cRequestHead refuses a :scheme it would have to cut short, or an empty one', () => {
    expect(() => h2cRequestHead(-1, HEAD, 'x'.repeat(40), false, false)).toThrow(/scheme/);
    expect(() => h2cRequestHead(-1, HEAD, 'x'.repeat(16), false, false)).toThrow(/scheme/);
    expect(() => h2cRequestHead(-1, HEAD, '', false, false)).toThrow(/scheme/);
    // A scheme that fits: no session behind handle -1, so no stream.
    expect(h2cRequestHead(-1, HEAD, 'https', false, false)).toBe(-1);
  });

  it('h2Respond refuses a range outside the head', () => {
    expect(() => h2Respond(-1, 1, 200, HEAD, false, 0, HEAD.length + 1)).toThrow(/outside head/);
    expect(() => h2Respond(-1, 1, 200, HEAD, false, -1, 3)).toThrow(/outside head/);
    expect(() => h2Respond(-1, 1, 200, HEAD, false, 5, 3)).toThrow(/outside head/);
    expect(h2Respond(-1, 1, 200, HEAD, false, 0, HEAD.length)).toBe(false);
  });

  it('h2Write refuses a range outside the data, and a range that is not two numbers', () => {
    const data = Buffer.from('0123456789');
    expect(() => h2Write(-1, 1, data, 0, 11)).toThrow(/outside data/);
    expect(() => h2Write(-1, 1, data, -1, 3)).toThrow(/outside data/);
    expect(() => h2Write(-1, 1, data, 6, 5)).toThrow(/outside data/);
    expect(() => h2Write(-1, 1, data, 0, undefined as unknown as number)).toThrow(/end must be a number/);
    expect(() => h2Write(-1, 1, data, 'x' as unknown as number, 3)).toThrow(/start must be a number/);
    // In range (and the whole-buffer form): no session behind handle -1.
    expect(h2Write(-1, 1, data, 2, 5)).toBe(-1);
    expect(h2Write(-1, 1, data, 10, 10)).toBe(-1);
    expect(h2Write(-1, 1, data)).toBe(-1);
  });
});
