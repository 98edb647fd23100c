// Protobuf base-128 varints for the hand-written encoders (the xDS response
// assembler in control/xds/proto-writer.ts, the proxy's Report encoder in
// workers/filters/mixer/report-encoder.ts). Values are non-negative numbers up
// to 2^53; division, not shifts, so lengths past 2^31 stay right.

/** The bytes `value` takes as a varint. */
export function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

/** Writes `value` as a varint at `offset`; returns the offset after it. */
export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value % 128) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}
