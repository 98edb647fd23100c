// An HTTP/2 upstream stream's request body arrives from the router in chunked framing. A write that is one whole
// chunk is read in JS (no decoder call); every write must give the data the native decoder would, and leave the
// decoder's state as the decoder would, whatever the router wrote: whole chunks, several, pieces of one, extensions,
// the last chunk with trailers, malformed framing.
import { describe, expect, it } from 'vitest';
import { CHUNKED, decodeChunked } from '../../../src/native.js';
import { BODY_ENDED, sendChunkedPieces, wholeChunkData } from '../../../workers/http2/chunked-request-pieces.js';
import { encodeBodyPiece } from '../../../workers/message-heads.js';

/** What the sink got: the data pieces (copied) and its answers. */
class Sink {
  pieces: string[] = [];
  stopped = false;
  chunkState: Float64Array | null = null;
  constructor(private readonly answer = true) {}
  sendPiece(piece: Buffer): boolean {
    this.pieces.push(piece.toString('latin1'));
    return this.answer;
  }
}

/** The decoder alone over the same writes: the data and the final state (the reference). */
function decoded(writes: string[]): { data: string; state: Float64Array; error: boolean } {
  const state = new Float64Array(CHUNKED.STATE_SIZE);
  const segments = new Uint32Array(64);
  let data = '';
  for (const w of writes) {
    const buf = Buffer.from(w, 'latin1');
    const n = decodeChunked(buf, 0, buf.length, state, segments);
    if (n < 0) return { data, state, error: true };
    for (let i = 0; i < n; i++) data += buf.latin1Slice(segments[2 * i]!, segments[2 * i + 1]!);
  }
  return { data, state, error: false };
}

/** The phase and counters (not the per-call offsets CONSUMED and TRAILER_START). */
const kept = (s: Float64Array): number[] => [s[CHUNKED.PHASE]!, s[1]!, s[2]!, s[3]!, s[CHUNKED.TRAILER_BYTES]!];

function viaPieces(writes: string[]): { data: string; state: Float64Array | null; error: boolean; sink: Sink } {
  const sink = new Sink();
  for (const w of writes) {
    if (sendChunkedPieces(Buffer.from(w, 'latin1'), sink) === null) return { data: sink.pieces.join(''), state: sink.chunkState, error: true, sink };
  }
  return { data: sink.pieces.join(''), state: sink.chunkState, error: false, sink };
}

/** The state the sink holds, as the decoder's would read: none made yet is the start (all zeros). */
const held = (s: Float64Array | null): number[] => kept(s ?? new Float64Array(CHUNKED.STATE_SIZE));

describe('wholeChunkData', () => {
  it('finds the data of exactly one chunk of data, and nothing else', () => {
    expect(wholeChunkData(Buffer.from('5\r\nhello\r\n'))).toBe(3);
    expect(wholeChunkData(Buffer.from('a\r\n0123456789\r\n'))).toBe(3);
    expect(wholeChunkData(Buffer.from('A\r\n0123456789\r\n'))).toBe(3);
    expect(wholeChunkData(Buffer.from('0005\r\nhello\r\n'))).toBe(6);
    for (const not of ['0\r\n\r\n', '5\r\nhell\r\n', '5\r\nhello!\r\n', '5\r\nhello', '5;x=1\r\nhello\r\n', '5 \r\nhello\r\n', '5\nhello\r\n', '5\r\nhello\n\r', 'g\r\nhello\r\n', '', '\r\n', '000000005\r\nhello\r\n', '5\r\nhello\r\n1\r\nx\r\n']) {
      expect(wholeChunkData(Buffer.from(not, 'latin1')), JSON.stringify(not)).toBe(-1);
    }
  });
});

describe('sendChunkedPieces', () => {
  const cases: [string, string[]][] = [
    ['whole chunks then the last', ['5\r\nhello\r\n', '1\r\n!\r\n', '0\r\n\r\n']],
    ['the last chunk with trailers', ['3\r\nabc\r\n', '0\r\nx-t: 1\r\n\r\n']],
    ['several chunks in one write', ['3\r\nabc\r\n2\r\nde\r\n', '0\r\n\r\n']],
    ['a chunk split over writes, then a whole one', ['5\r\nhe', 'llo\r\n', '2\r\nok\r\n', '0\r\n\r\n']],
    ['a split at the CRLF, then whole chunks', ['5\r\nhello\r', '\n', '1\r\nx\r\n', '0\r\n\r\n']],
    ['an extension', ['5;a=b\r\nhello\r\n', '0\r\n\r\n']],
    ['a long size line', ['00000000005\r\nhello\r\n', '0\r\n\r\n']],
    ['framing that lies about its size', ['5\r\nhello!!\r\n']],
    ['bad terminator', ['5\r\nhelloXY']],
    ['bytes after the last chunk', ['2\r\nab\r\n', '0\r\n\r\n', '3\r\nxyz\r\n']],
    ['a last chunk inside a split chunk is data', ['8\r\nab', '0\r\n\r\n', 'c\r\n', '0\r\n\r\n']],
    ['the last chunk split over writes', ['1\r\na\r\n', '0\r\n', '\r\n']],
  ];
  for (const [name, writes] of cases) {
    it(`gives what the decoder gives: ${name}`, () => {
      const want = decoded(writes);
      const got = viaPieces(writes);
      expect(got.error).toBe(want.error);
      expect(got.data).toBe(want.data);
      // BODY_ENDED stands for the decoder's state after the bare last chunk: phase done (its trailer count unused).
      if (!want.error && got.state === BODY_ENDED) expect(want.state[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
      else if (!want.error) expect(held(got.state)).toEqual(kept(want.state));
    });
  }

  it("reports the sink's backpressure, and true once the sink stopped", () => {
    expect(sendChunkedPieces(Buffer.from('5\r\nhello\r\n'), new Sink(false))).toBe(false);
    const stopped = new Sink(false);
    stopped.stopped = true;
    expect(sendChunkedPieces(Buffer.from('5\r\nhello\r\n'), stopped)).toBe(true);
  });

  it('makes no decoder state for whole chunks and the bare last chunk (a gRPC request)', () => {
    const got = viaPieces(['5\r\nhello\r\n', '0\r\n\r\n']);
    expect(got.data).toBe('hello');
    expect(got.state).toBe(BODY_ENDED);
    expect(viaPieces(['5\r\nhello\r\n']).state).toBeNull();
    expect(BODY_ENDED[CHUNKED.PHASE]).toBe(CHUNKED.DONE_PHASE);
  });
});

describe('encodeBodyPiece', () => {
  it('frames a chunk with its size in lowercase hex, as toString(16)', () => {
    for (const n of [0, 1, 9, 10, 15, 16, 255, 256, 4095, 4096, 65535, 65536, 1 << 20]) {
      const data = Buffer.alloc(n, 'z');
      const piece = encodeBodyPiece(null, true, data, 0, n);
      const line = n.toString(16) + '\r\n';
      expect(piece.length).toBe(line.length + n + 2);
      expect(piece.latin1Slice(0, line.length)).toBe(line);
      expect(piece.subarray(line.length, line.length + n).equals(data)).toBe(true);
      expect(piece.latin1Slice(piece.length - 2)).toBe('\r\n');
    }
    expect(encodeBodyPiece(Buffer.from('HEAD'), true, Buffer.from('abc'), 1, 3).toString('latin1')).toBe('HEAD2\r\nbc\r\n');
    expect(encodeBodyPiece(Buffer.from('H'), false, Buffer.from('abc'), 0, 3).toString('latin1')).toBe('Habc');
  });
});
