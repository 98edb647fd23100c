// The shape of the HTTP/1.1 head the router makes for an upstream (body framing, HEAD method), known when the router
// makes it: an HTTP/2 upstream stream reads it from here instead of parsing the head again (router-request-head.ts).
import { FLAG, HEAD } from '../../src/native.js';

export const HEAD_SHAPE = {
  CHUNKED: 1,
  /** No body: no chunked framing and no or a zero Content-Length (HEADERS carries END_STREAM). */
  BODYLESS: 2,
  HEAD_METHOD: 4,
} as const;

/**
 * takes the received head's flags and fields (the router's head frames its body from them, as forwarded-heads.ts
 * does) and the method; returns HEAD_SHAPE bits.
 */
export function headShapeOf(flags: number, fields: Uint32Array, method: string): number {
  const chunked = (flags & FLAG.CHUNKED) !== 0;
  const bodyless = !chunked && ((flags & FLAG.CONTENT_LENGTH) === 0 || (fields[HEAD.CONTENT_LENGTH_HI]! | fields[HEAD.CONTENT_LENGTH_LO]!) === 0);
  return (chunked ? HEAD_SHAPE.CHUNKED : 0) | (bodyless ? HEAD_SHAPE.BODYLESS : 0) | (method === 'HEAD' ? HEAD_SHAPE.HEAD_METHOD : 0);
}
