// Random span and trace ids: 32-bit words from a refilled crypto pool, never
// an all-zero 64-bit id (nor a 128-bit id with a zero half, which peers would
// read as a 64-bit id), not repeating, and as lowercase hex of the asked width.
import { describe, expect, it } from 'vitest';
import { hexWord, newSentId, newTraceId, TraceIds, writeHexWord } from '../../../workers/tracing/trace-ids.js';

/** Words as the hex the proxy writes for them. */
function hex(...words: number[]): string {
  const b = Buffer.alloc(8 * words.length);
  words.forEach((w, i) => writeHexWord(b, 8 * i, w));
  return b.toString('latin1');
}

const idHex = (w0: number, w1: number): string => hex(w0, w1);
const traceIdHex = (ids: TraceIds): string => (ids.bits128 ? hex(ids.traceHigh0, ids.traceHigh1, ids.trace0, ids.trace1) : hex(ids.trace0, ids.trace1));

describe('trace ids', () => {
  it('makes 64-bit and 128-bit ids of the right shape across pool refills, all distinct', () => {
    const seen = new Set<string>();
    // 1024 words a pool: 5,000 rounds of 8 words refill it about 40 times.
    for (let i = 0; i < 5_000; i++) {
      const ids = new TraceIds();
      newSentId(ids);
      const span = idHex(ids.sent0, ids.sent1);
      newTraceId(ids, false);
      const trace64 = traceIdHex(ids);
      newTraceId(ids, true);
      const trace128 = traceIdHex(ids);
      expect(span).toMatch(/^[0-9a-f]{16}$/);
      expect(trace64).toMatch(/^[0-9a-f]{16}$/);
      expect(trace128).toMatch(/^[0-9a-f]{32}$/);
      expect(trace128.slice(0, 16)).not.toBe('0000000000000000');
      expect(trace128.slice(16)).not.toBe('0000000000000000');
      seen.add(span).add(trace64).add(trace128);
    }
    expect(seen.size).toBe(15_000);
  });

  it('reads hex of either case as words and writes them back lowercase, every digit', () => {
    const ids = new TraceIds();
    ids.bits128 = true;
    const hex = '0123456789abcdefFEDCBA9876543210';
    ids.traceHigh0 = hexWord(hex, 0);
    ids.traceHigh1 = hexWord(hex, 8);
    ids.trace0 = hexWord(hex, 16);
    ids.trace1 = hexWord(hex, 24);
    expect(traceIdHex(ids)).toBe(hex.toLowerCase());
    expect(idHex(hexWord('ffffffff00000001', 0), hexWord('ffffffff00000001', 8))).toBe('ffffffff00000001');
  });
});
