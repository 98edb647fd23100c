// The trailer section of a chunked body as the proxy forwards it: collected
// from the decoder's reads (also when split), read as lowercased fields with
// repeats joined and OWS trimmed, fields that may not be trailers dropped,
// and nothing at all for an empty section.
import { describe, expect, it } from 'vitest';
import { CHUNKED, decodeChunkedInPlace } from '../../src/native.js';
import { ChunkedTrailerSection, passedTrailerBytes } from '../../workers/chunked-trailers.js';

/** Decodes `reads` one after another as the proxy does; returns the section's fields. */
function trailersOf(reads: readonly string[]): Record<string, string> | null {
  const state = new Float64Array(CHUNKED.STATE_SIZE);
  const section = new ChunkedTrailerSection();
  for (const text of reads) {
    const buf = Buffer.from(text, 'latin1');
    expect(decodeChunkedInPlace(buf, 0, buf.length, state)).toBeGreaterThanOrEqual(0);
    if (passedTrailerBytes(state)) section.collect(buf, state);
  }
  expect(state[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
  return section.take();
}

describe('ChunkedTrailerSection', () => {
  it('reads fields: names lowercased, values trimmed, repeats joined, forbidden fields dropped', () => {
    expect(trailersOf(['3\r\nabc\r\n0\r\nX-A: 1\r\nx-a:2 \r\nTransfer-Encoding: chunked\r\nSet-Cookie: s=1\r\nx-b:\t v\t\r\n\r\n']))
      .toEqual({ 'x-a': '1, 2', 'x-b': 'v' });
  });

  it('joins a section split across reads at any byte', () => {
    const body = '3\r\nabc\r\n0\r\nx-checksum: c\r\nx-n: 1\r\n\r\n';
    for (let cut = 1; cut < body.length; cut++) {
      expect(trailersOf([body.slice(0, cut), body.slice(cut)]), `cut at ${cut}`).toEqual({ 'x-checksum': 'c', 'x-n': '1' });
    }
  });

  it('holds a section that arrives one byte per read in memory of its size, not an object per read', () => {
    // A hostile peer's 60 KiB section, one byte per read: each read's share must not become its own Buffer.
    const fields = Array.from({ length: 99 }, (_, i) => `x-pad-${String(i).padStart(2, '0')}: ${'p'.repeat(600)}\r\n`).join('');
    const body = Buffer.from(`0\r\n${fields}\r\n`, 'latin1');
    expect(body.length).toBeLessThan(CHUNKED.MAX_TRAILER_BYTES);
    const state = new Float64Array(CHUNKED.STATE_SIZE);
    const section = new ChunkedTrailerSection();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < body.length; i++) {
      // No expect() in the loop: it would allocate per byte too.
      if (decodeChunkedInPlace(body, i, i + 1, state) !== 0) throw new Error(`decoder refused byte ${i}`);
      section.collect(body, state);
    }
    const grown = process.memoryUsage().heapUsed - before;
    expect(state[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
    // One small object per byte read would be several MiB (~60000 reads).
    expect(grown).toBeLessThan(2 * 1024 * 1024);
    const got = section.take();
    expect(Object.keys(got!)).toHaveLength(99);
    expect(got!['x-pad-98']).toBe('p'.repeat(600));
  });

  it('gives null for an empty section, one of only forbidden fields, and once taken', () => {
    expect(trailersOf(['3\r\nabc\r\n0\r\n\r\n'])).toBeNull();
    expect(trailersOf(['0\r\n', '\r', '\n'])).toBeNull();
    expect(trailersOf(['0\r\ncontent-length: 3\r\nhost: h\r\n\r\n'])).toBeNull();
    const section = new ChunkedTrailerSection();
    expect(section.take()).toBeNull();
  });
});
