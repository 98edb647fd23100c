// The trace context lines the upstream head carries, written into the head
// without joining strings (a template per shape, its ids written into their
// places): byte for byte the B3 + traceparent lines the proxy has always
// sent, for every shape (64/128-bit trace, root or child, sampled or not, debug).
import { describe, expect, it } from 'vitest';
import {
  TRACE_DEBUG, TRACE_INCOMING, TRACE_LINES, TRACE_SAMPLED, upstreamTraceLinesLength, writeUpstreamTraceLines, type UpstreamTraceContext,
} from '../../../workers/tracing/upstream-trace-lines.js';
import { hexWord, TraceIds, setTraceIdFromHex } from '../../../workers/tracing/trace-ids.js';

/** The lines' ids as hex (the test's side) and as the request holds them (words). */
interface Shape {
  readonly traceId: string;
  readonly traceSentId: string;
  readonly traceSentParent: string;
  readonly traceBits: number;
}

function context(s: Shape): UpstreamTraceContext {
  const ids = new TraceIds();
  setTraceIdFromHex(ids, s.traceId);
  ids.sent0 = hexWord(s.traceSentId, 0);
  ids.sent1 = hexWord(s.traceSentId, 8);
  if (s.traceSentParent !== '') {
    ids.hasParent = true;
    ids.parent0 = hexWord(s.traceSentParent, 0);
    ids.parent1 = hexWord(s.traceSentParent, 8);
  }
  ids.bits = s.traceBits;
  return ids;
}

/** The lines as text, joined the plain way. */
function expected(t: Shape): string {
  const sampled = (t.traceBits & TRACE_SAMPLED) !== 0;
  return (
    `x-b3-traceid: ${t.traceId}\r\nx-b3-spanid: ${t.traceSentId}\r\n` +
    (t.traceSentParent === '' ? '' : `x-b3-parentspanid: ${t.traceSentParent}\r\n`) +
    `x-b3-sampled: ${sampled ? 1 : 0}\r\n` +
    ((t.traceBits & TRACE_DEBUG) !== 0 ? 'x-b3-flags: 1\r\n' : '') +
    `traceparent: 00-${t.traceId.padStart(32, '0')}-${t.traceSentId}-${sampled ? '01' : '00'}\r\n`
  );
}

describe('upstream trace lines', () => {
  it('writes every shape byte for byte, exactly as long as said, into a used buffer', () => {
    let shapes = 0;
    for (const traceId of ['463ac35c9f6413ad', '463ac35c9f6413ad463ac35c9f6413ae'])
      for (const parent of ['', 'a2fb4a1d1a96d312'])
        for (const flags of [0, TRACE_SAMPLED, TRACE_DEBUG, TRACE_SAMPLED | TRACE_DEBUG]) {
          for (const incoming of [0, TRACE_INCOMING]) {
            const t: Shape = { traceId, traceSentId: 'b7ad6b7169203331', traceSentParent: parent, traceBits: TRACE_LINES | flags | incoming };
            const length = upstreamTraceLinesLength(context(t));
            const head = Buffer.alloc(length + 8, '~');
            const end = writeUpstreamTraceLines(head, 4, context(t));
            expect(end - 4).toBe(length);
            expect(head.toString('latin1', 4, end)).toBe(expected(t));
            expect(head.toString('latin1', 0, 4) + head.toString('latin1', end)).toBe('~'.repeat(8));
            shapes++;
          }
          // The same buffer written twice (sampled, then not): no digit of the first is left behind.
          const head = Buffer.alloc(512);
          const a: Shape = { traceId, traceSentId: 'b7ad6b7169203331', traceSentParent: parent, traceBits: TRACE_LINES | TRACE_SAMPLED };
          writeUpstreamTraceLines(head, 0, context(a));
          const b = { ...a, traceBits: TRACE_LINES };
          expect(head.toString('latin1', 0, writeUpstreamTraceLines(head, 0, context(b)))).toBe(expected(b));
        }
    expect(shapes).toBe(32);
  });

  it('writes into heads that are slices of one shared pool at odd offsets, each exactly in its own bytes', () => {
    const shape: Shape = { traceId: '463ac35c9f6413ad463ac35c9f6413ae', traceSentId: 'b7ad6b7169203331', traceSentParent: 'a2fb4a1d1a96d312', traceBits: TRACE_LINES | TRACE_SAMPLED };
    const t = context(shape);
    const length = upstreamTraceLinesLength(t);
    const pool = Buffer.alloc(3 * (length + 8) + 1, '~');
    // Heads as the proxy gets them from Buffer.allocUnsafe: views into one ArrayBuffer, not at offset 0.
    const heads = [0, 1, 2].map((i) => pool.subarray(1 + i * (length + 8), 1 + (i + 1) * (length + 8)));
    for (const head of heads) expect(writeUpstreamTraceLines(head, 3, t)).toBe(3 + length);
    for (const head of heads) {
      expect(head.toString('latin1', 3, 3 + length)).toBe(expected(shape));
      expect(head.toString('latin1', 0, 3) + head.toString('latin1', 3 + length)).toBe('~'.repeat(8));
    }
    expect(pool[0]).toBe(0x7e);
  });

  it('writes nothing without TRACE_LINES', () => {
    const t: UpstreamTraceContext = new TraceIds(); // bits 0
    expect(upstreamTraceLinesLength(t)).toBe(0);
    expect(writeUpstreamTraceLines(Buffer.alloc(4), 2, t)).toBe(2);
  });
});
