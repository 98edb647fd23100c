// Just enough protobuf wire format to assemble DiscoveryResponse and
// DeltaDiscoveryResponse messages from resource entries that were encoded
// once: a response is its few scalar fields plus shared, pre-encoded bytes,
// so pushing to a thousand streams costs a thousand concatenations, not a
// thousand protobuf encodings.

import { varintSize, writeVarint } from '../../src/xds/proto-varint.js';

const WIRE_LENGTH_DELIMITED = 2;

/** Tag + length prefix + bytes of one length-delimited field. */
export function lengthDelimitedField(fieldNumber: number, bytes: Uint8Array): Buffer {
  const tag = fieldNumber * 8 + WIRE_LENGTH_DELIMITED;
  const out = Buffer.allocUnsafe(varintSize(tag) + varintSize(bytes.length) + bytes.length);
  let offset = writeVarint(out, 0, tag);
  offset = writeVarint(out, offset, bytes.length);
  out.set(bytes, offset);
  return out;
}

/** A string field; empty strings are omitted, as proto3 does. */
export function stringField(fieldNumber: number, value: string): Buffer {
  if (value === '') return EMPTY;
  return lengthDelimitedField(fieldNumber, Buffer.from(value, 'utf8'));
}

export const EMPTY: Buffer = Buffer.alloc(0);

/** google.protobuf.Any { type_url = 1; value = 2 } as bytes. */
export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  return Buffer.concat([stringField(1, typeUrl), lengthDelimitedField(2, value)]);
}
