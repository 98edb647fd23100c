// x-request-id values for requests that arrive without one: random (version 4)
// UUIDs, as Envoy generates. crypto.randomUUID builds each as some twenty
// string concatenations (a cons string that is flattened again when the head
// and the log line are written); here random bytes are turned into UUID text
// in bulk, 512 at a time (randomFillSync costs mostly per call), and each request takes one flat 36-char slice.
import { randomFillSync } from 'node:crypto';

const BATCH = 512;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const random = Buffer.allocUnsafeSlow(16 * BATCH);
const text = Buffer.allocUnsafeSlow(36 * BATCH);
/** The batch's random bytes as hex digits (32 per UUID). */
const hex = Buffer.allocUnsafeSlow(32 * BATCH);
let next = BATCH;

/**
 * Writes BATCH UUIDs (8-4-4-4-12 hex, version 4, RFC 4122 variant) into `text` from fresh random bytes. The hex
 * digits come from one native hexSlice of the whole batch: a JS nibble-to-digit loop per byte cost some 1,300
 * instructions per request (callgrind, bench/h1-callgrind.ts), the copy with dashes put in about a third of that.
 */
function refill(): void {
  randomFillSync(random);
  hex.latin1Write(random.hexSlice(0, random.length), 0);
  for (let u = 0; u < BATCH; u++) {
    let o = u * 36;
    let h = u * 32;
    for (let i = 0; i < 32; i++) {
      if (i === 8 || i === 12 || i === 16 || i === 20) text[o++] = 0x2d;
      text[o++] = hex[h++]!;
    }
    // Version 4 (the 13th digit), and the variant's two high bits 10 (the 17th digit is one of 8, 9, a, b).
    text[u * 36 + 14] = 0x34;
    text[u * 36 + 19] = HEX[((random[u * 16 + 8]! >> 4) & 0x3) | 0x8]!;
  }
  next = 0;
}

/** A new random UUID (lowercase, version 4). */
export function newRequestId(): string {
  if (next === BATCH) refill();
  const at = next++ * 36;
  return text.latin1Slice(at, at + 36);
}
