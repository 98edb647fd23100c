// Keeps `npm run fuzz` working: a short differential run must find nothing,
// and the fuzzer must report what it cannot explain.
import { describe, expect, it } from 'vitest';
import { DifferentialFuzzer } from '../../bench/fuzz/differential-fuzzer.js';
import { explain, walkChunked } from '../../bench/fuzz/known-differences.js';

describe('differential fuzzer (native parsers vs llhttp)', () => {
  it('finds no unexplained disagreement in a few thousand executions', () => {
    const report = new DifferentialFuzzer().run({ execs: 5000, seconds: 60, seed: 0x15e7 });
    expect(report.findings).toEqual([]);
    expect(report.execs).toBeGreaterThanOrEqual(5000);
    expect(report.agreed).toBeGreaterThan(report.execs / 2);
  });

  it('agrees with llhttp on valid heads and explains a stricter refusal by its rule', () => {
    const fuzzer = new DifferentialFuzzer();
    expect(fuzzer.compareHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).toEqual({ agreed: true });
    expect(fuzzer.compareHead(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n'))).toEqual({ agreed: false, explainedBy: 'whitespace before colon' });
    expect(fuzzer.compareHead(Buffer.from('GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'))).toEqual({ agreed: false, explainedBy: 'host required' });
    expect(fuzzer.compareChunked(Buffer.from('5\r\nhello\r\n0\r\n\r\n'), 3)).toEqual({ agreed: true });
  });

  it('reports a disagreement no class explains', () => {
    // A class must check the input, not only the verdicts: "host required" does not cover a head that has a Host.
    const d = {
      kind: 'head' as const, input: Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'),
      ours: { verdict: 'error', code: -16, length: 0 }, theirs: { verdict: 'complete', errno: 0, length: 27 },
    };
    expect(explain(d)).toBeUndefined();
  });

  it('walks chunked bodies by the RFC grammar for the classes', () => {
    expect(walkChunked(Buffer.from('5\r\nhello\r\n0\r\nT: v\r\n\r\n'))).toMatchObject({ result: 'complete', trailerNames: ['t'] });
    expect(walkChunked(Buffer.from('5\nhello')).result).toBe('line-ending');
    expect(walkChunked(Buffer.from('5\r\nhelloX\r\n')).result).toBe('terminator');
    expect(walkChunked(Buffer.from('5;a="b"\r\nhello\r\n0\r\n\r\n')).bwsOrQuotedExtension).toBe(true);
  });
});
