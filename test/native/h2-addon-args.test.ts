// The native HTTP/2 calls that read the proxy's HTTP/1.1 heads (h2cRequestHead, h2Respond with a Buffer) check
// what JS hands them before reading it: the :scheme's length, and [start, end) inside the head.
import { describe, expect, it } from 'vitest';
import { h2Respond, h2cRequestHead } from '../../src/native.js';
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
});
