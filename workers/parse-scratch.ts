// Per-thread scratch arrays the native parsers fill. Parsing is synchronous
// and a worker runs one callback at a time, so one set serves every
// connection; a reader must copy what it needs before returning.
import { headSlots } from '../src/native.js';

export const parseLimits = {
  maxHeadBytes: 60 * 1024,
  maxHeaders: 100,
};

export let headOut = new Uint32Array(headSlots(parseLimits.maxHeaders));

export function configureParseLimits(maxHeadBytes: number, maxHeaders: number): void {
  parseLimits.maxHeadBytes = maxHeadBytes;
  parseLimits.maxHeaders = maxHeaders;
  headOut = new Uint32Array(headSlots(maxHeaders));
}
