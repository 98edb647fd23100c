// The parse of an HTTP/1.1 head the addon made in its event arena (a
// downstream request, an upstream response): C++ parses it where it builds it
// and leaves http_head.h's words after it, at the next multiple of 4
// (HEAD_PARSED / RESP_PARSED in the record). Copying them into headOut saves
// the call into the addon per head that parsing it from JS took. Limits are
// this worker's: a head past them is left to the JS parser, for the same
// refusal as before.
import { HEAD } from '../../src/native.js';
import { h2EventBuffers } from '../../src/native-h2-events.js';
import { headOut, parseLimits } from '../parse-scratch.js';

/** The arena as 32-bit words; null until first asked for, or when not 4-byte aligned (then never used). */
let words: Uint32Array | null | undefined;

function arenaWords(): Uint32Array | null {
  if (words === undefined) {
    const arena = h2EventBuffers().arena;
    words = arena.byteOffset % 4 === 0 ? new Uint32Array(arena.buffer, arena.byteOffset, arena.length >>> 2) : null;
  }
  return words;
}

/**
 * takes the head's place in the arena and the most bytes it may have (maxHeadBytes, or twice it for a response);
 * copies the addon's parse of it into headOut; returns false (headOut untouched) when the head is past this worker's
 * limits or the words are not there, for the caller to parse it itself.
 */
export function copyArenaParse(offset: number, length: number, maxBytes: number): boolean {
  const w = arenaWords();
  if (w === null || length > maxBytes) return false;
  const at = (offset + length + 3) >>> 2;
  const count = w[at + HEAD.HEADER_COUNT]!;
  const end = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * count;
  const out = headOut;
  if (count > parseLimits.maxHeaders || out.length < end) return false;
  for (let i = 0; i <= HEAD.HOST_INDEX; i++) out[i] = w[at + i]!;
  for (let i = HEAD.HEADERS; i < end; i++) out[i] = w[at + i]!;
  return true;
}
