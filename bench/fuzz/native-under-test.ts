// Our native parsers as the fuzzer calls them: verdicts in the same shape as
// the llhttp oracle's. decodeChunkedBody runs the in-place decoder the proxy
// uses (one call per read) and checks it against the segment decoder: both
// must reach the same verdict, data and end, or the body counts as a finding.
import {
  CHUNKED, PARTIAL_HEAD, checkPartialRequestHead, decodeChunked, decodeChunkedInPlace, headSlots, parseRequestHead,
} from '../../src/native.js';

export type Verdict = 'complete' | 'incomplete' | 'error';

export interface NativeHead {
  readonly verdict: Verdict;
  readonly length: number;
  /** the PARSE_ERROR when refused */
  readonly code: number;
}

export interface NativeBody {
  readonly verdict: Verdict;
  readonly data: Buffer;
  /** body bytes up to the end of the message, when complete */
  readonly consumed: number;
  readonly code: number;
}

/** The proxy's defaults (workers/parse-scratch.ts). */
export const MAX_HEAD_BYTES = 60 * 1024;
export const MAX_HEADERS = 100;

const out = new Uint32Array(headSlots(MAX_HEADERS));
const partialState = new Uint32Array(PARTIAL_HEAD.STATE_SIZE);

/** takes a client's bytes; returns parseRequestHead's verdict (on a copy: the parser lowercases names in place). */
export function parseHead(input: Buffer): NativeHead {
  const copy = Buffer.from(input);
  const r = parseRequestHead(copy, 0, copy.length, out, MAX_HEAD_BYTES, MAX_HEADERS);
  if (r > 0) return { verdict: 'complete', length: r, code: 0 };
  return r === 0 ? { verdict: 'incomplete', length: 0, code: 0 } : { verdict: 'error', length: 0, code: r };
}

/** takes a client's bytes and where a first read ends; returns checkPartialRequestHead's result after both reads. */
export function checkHeadInTwoReads(input: Buffer, split: number): number {
  partialState.fill(0);
  const first = Buffer.from(input.subarray(0, split));
  const r = checkPartialRequestHead(first, 0, first.length, partialState, MAX_HEAD_BYTES, MAX_HEADERS);
  if (r !== 0 || split >= input.length) return r;
  const all = Buffer.concat([first, input.subarray(split)]); // as a connection joins what it kept with the new read
  return checkPartialRequestHead(all, 0, all.length, partialState, MAX_HEAD_BYTES, MAX_HEADERS);
}

const state = new Float64Array(CHUNKED.STATE_SIZE);
const segments = new Uint32Array(2 * 64);

/**
 * The segment decoder (ranges into the read, no bytes moved): takes a chunked body as two reads (body[0, split)
 * then the rest, each in its own Buffer); returns the verdict, the data and where the message ended.
 */
function decodeWithSegments(body: Buffer, split: number): NativeBody {
  state.fill(0);
  const data: Buffer[] = [];
  let consumedBefore = 0;
  for (const part of [Buffer.from(body.subarray(0, split)), Buffer.from(body.subarray(split))]) {
    let pos = 0;
    while (pos < part.length) {
      const n = decodeChunked(part, pos, part.length, state, segments);
      if (n < 0) return { verdict: 'error', data: Buffer.alloc(0), consumed: 0, code: n };
      for (let i = 0; i < n; i++) data.push(Buffer.from(part.subarray(segments[2 * i]!, segments[2 * i + 1]!)));
      const next = state[CHUNKED.CONSUMED]!;
      if (next === pos && n === 0) break; // nothing taken: cannot happen, but never loop forever
      pos = next;
      if (state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) {
        return { verdict: 'complete', data: Buffer.concat(data), consumed: consumedBefore + pos, code: 0 };
      }
    }
    consumedBefore += part.length;
  }
  return { verdict: 'incomplete', data: Buffer.alloc(0), consumed: 0, code: 0 };
}

/** The proxy's decoder (request-body-reader.ts, upstream-connection.ts): one in-place call per read. */
function decodeInPlace(body: Buffer, split: number): NativeBody {
  state.fill(0);
  const data: Buffer[] = [];
  let consumedBefore = 0;
  for (const part of [Buffer.from(body.subarray(0, split)), Buffer.from(body.subarray(split))]) {
    const n = decodeChunkedInPlace(part, 0, part.length, state);
    if (n < 0) return { verdict: 'error', data: Buffer.alloc(0), consumed: 0, code: n };
    data.push(Buffer.from(part.subarray(0, n)));
    if (state[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) {
      return { verdict: 'complete', data: Buffer.concat(data), consumed: consumedBefore + state[CHUNKED.CONSUMED]!, code: 0 };
    }
    consumedBefore += part.length;
  }
  return { verdict: 'incomplete', data: Buffer.alloc(0), consumed: 0, code: 0 };
}

/** Thrown when the two native decoders disagree: the fuzzer reports it as a finding with the input. */
export class DecoderMismatch extends Error {}

/**
 * THE adapter to the chunked decoders: takes a chunked body as two reads, as a connection receives them; returns
 * the in-place decoder's verdict, data and end, after checking the segment decoder reaches the same.
 */
export function decodeChunkedBody(body: Buffer, split: number): NativeBody {
  const ours = decodeInPlace(body, split);
  const reference = decodeWithSegments(body, split);
  if (ours.verdict !== reference.verdict || ours.code !== reference.code || ours.consumed !== reference.consumed || !ours.data.equals(reference.data)) {
    throw new DecoderMismatch(`in-place ${ours.verdict} ${ours.code} end ${ours.consumed} (${ours.data.length} B) vs segments ${reference.verdict} ${reference.code} end ${reference.consumed} (${reference.data.length} B)`);
  }
  return ours;
}
