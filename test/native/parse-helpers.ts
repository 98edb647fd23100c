// Test helpers that turn the parsers' offset arrays into plain objects so
// assertions read like the HTTP they check.
import {
  CHUNKED, HEAD, decodeChunked, headSlots, parseRequestHead, parseResponseHead,
} from '../../src/native.js';

export const MAX_HEAD_BYTES = 60 * 1024;
export const MAX_HEADERS = 100;

export interface ParsedHead {
  readonly result: number;
  readonly buf: Buffer;
  readonly out: Uint32Array;
  readonly method: string;
  readonly statusCode: number;
  readonly target: string;
  readonly versionMinor: number;
  readonly flags: number;
  readonly contentLength: number;
  readonly hostIndex: number;
  readonly headers: ReadonlyArray<readonly [name: string, value: string, id: number]>;
}

function view(result: number, buf: Buffer, out: Uint32Array, response: boolean): ParsedHead {
  const headers: Array<readonly [string, string, number]> = [];
  if (result > 0) {
    for (let i = 0; i < out[HEAD.HEADER_COUNT]!; i++) {
      const at = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
      headers.push([
        buf.latin1Slice(out[at + HEAD.NAME_START]!, out[at + HEAD.NAME_END]!),
        buf.latin1Slice(out[at + HEAD.VALUE_START]!, out[at + HEAD.VALUE_END]!),
        out[at + HEAD.HEADER_ID]!,
      ]);
    }
  }
  const ok = result > 0;
  return {
    result, buf, out, headers,
    method: ok && !response ? buf.latin1Slice(out[HEAD.METHOD_START]!, out[HEAD.METHOD_END]!) : '',
    statusCode: ok && response ? out[HEAD.STATUS_CODE]! : 0,
    target: ok ? buf.latin1Slice(out[HEAD.TARGET_START]!, out[HEAD.TARGET_END]!) : '',
    versionMinor: ok ? out[HEAD.VERSION_MINOR]! : -1,
    flags: ok ? out[HEAD.FLAGS]! : 0,
    contentLength: ok ? out[HEAD.CONTENT_LENGTH_HI]! * 2 ** 32 + out[HEAD.CONTENT_LENGTH_LO]! : -1,
    hostIndex: ok ? out[HEAD.HOST_INDEX]! : -1,
  };
}

export function parseRequest(raw: string | Buffer, maxHeadBytes = MAX_HEAD_BYTES, maxHeaders = MAX_HEADERS): ParsedHead {
  const buf = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const out = new Uint32Array(headSlots(maxHeaders));
  return view(parseRequestHead(buf, 0, buf.length, out, maxHeadBytes, maxHeaders), buf, out, false);
}

export function parseResponse(raw: string, maxHeadBytes = MAX_HEAD_BYTES, maxHeaders = MAX_HEADERS): ParsedHead {
  const buf = Buffer.from(raw, 'latin1');
  const out = new Uint32Array(headSlots(maxHeaders));
  return view(parseResponseHead(buf, 0, buf.length, out, maxHeadBytes, maxHeaders), buf, out, true);
}

export interface DecodedBody {
  /** the first negative return, or 0 */
  readonly error: number;
  readonly data: string;
  readonly done: boolean;
  /** offset just past the message in the concatenated input, when done */
  readonly end: number;
}

/** Feeds `parts` (separate buffers, as they would arrive from a socket) to decodeChunked, draining full segment arrays. */
export function decodeChunkedParts(parts: readonly Buffer[], segmentPairs = 16): DecodedBody {
  const state = new Float64Array(CHUNKED.STATE_SIZE);
  const segments = new Uint32Array(2 * segmentPairs);
  let data = '';
  let offset = 0;
  for (const part of parts) {
    let start = 0;
    for (let calls = 0; calls < 100_000; calls++) {
      const n = decodeChunked(part, start, part.length, state, segments);
      if (n < 0) return { error: n, data, done: false, end: -1 };
      for (let i = 0; i < n; i++) data += part.latin1Slice(segments[2 * i]!, segments[2 * i + 1]!);
      start = state[CHUNKED.CONSUMED]!;
      if (state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) return { error: 0, data, done: true, end: offset + start };
      if (start === part.length) break;
    }
    offset += part.length;
  }
  return { error: 0, data, done: false, end: -1 };
}
