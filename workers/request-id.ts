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
let next = BATCH;

/** Writes BATCH UUIDs (8-4-4-4-12 hex, version 4, RFC 4122 variant) into `text` from fresh random bytes. */
function refill(): void {
  // Locals, not the module's bindings (each a context load with a hole check, per byte in this loop).
  const r = random;
  const t = text;
  const digits = HEX;
  randomFillSync(r);
  for (let u = 0; u < BATCH; u++) {
    let o = u * 36;
    const b = u * 16;
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) t[o++] = 0x2d;
      let byte = r[b + i]!;
      if (i === 6) byte = (byte & 0x0f) | 0x40;
      else if (i === 8) byte = (byte & 0x3f) | 0x80;
      t[o++] = digits[byte >> 4]!;
      t[o++] = digits[byte & 15]!;
    }
  }
  next = 0;
}

/** A new random UUID (lowercase, version 4). */
export function newRequestId(): string {
  if (next === BATCH) refill();
  const at = next++ * 36;
  return text.latin1Slice(at, at + 36);
}
