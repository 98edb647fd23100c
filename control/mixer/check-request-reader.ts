// isthmus.mixer.v1.CheckRequest read straight from its protobuf bytes into
// what the Mixer Check handler runs on: the attribute bag, the quotas asked
// for and the deduplication id. The same values as
// decodeAttributes(decodeCheckRequest(bytes)) and the service's quota reading
// give (a test holds them equal), without the message objects in between:
// one Map for the bag, the values themselves, and attribute and header names
// from a small table of those seen before (Reader.name). Malformed bytes
// throw, as the decoder's do (the server answers INTERNAL). The bytes may be
// a transport's read buffer: nothing here keeps a view of them (a bytes value
// is copied).
import type { AttributeValue, StringMap } from '../../src/policy/attribute-value.js';
import { MapAttributeBag } from './attribute-message.js';
import { BYTES, FIXED64, Reader, VARINT } from './check-request-decoder.js';
import type { QuotaRequest } from './rule-dispatch.js';

/** A Check request as the handler runs it. */
export class CheckRequestValues {
  constructor(
    readonly bag: MapAttributeBag,
    readonly quotas: ReadonlyMap<string, QuotaRequest>,
    readonly deduplicationId: string,
  ) {}
}

/** Shared by the requests that ask for no quota (never written). */
const NO_QUOTAS: ReadonlyMap<string, QuotaRequest> = new Map();

/** takes buf[start, end), a CheckRequest's bytes; returns its values (throws RangeError on malformed bytes). */
export function readCheckRequest(buf: Buffer, start = 0, end = buf.length): CheckRequestValues {
  const r = new Reader(buf, start, end);
  const values = new Map<string, AttributeValue>();
  let quotas: Map<string, QuotaRequest> | null = null;
  let deduplicationId = '';
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === BYTES) readAttributes(r, r.length(), values);
    else if (field === 2 && wire === BYTES) deduplicationId = r.string();
    else if (field === 3 && wire === BYTES) readQuota(r, r.length(), (quotas ??= new Map()));
    else r.skip(wire);
  }
  return new CheckRequestValues(new MapAttributeBag(values), quotas ?? NO_QUOTAS, deduplicationId);
}

/** Attributes { map<string, AttributeValue> attributes = 1 }: entries in wire order, a later one for a name replacing it. */
export function readAttributes(r: Reader, end: number, values: Map<string, AttributeValue>): void {
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === BYTES) readAttributeEntry(r, r.length(), values);
    else r.skip(tag & 7);
  }
  r.end = outer;
}

function readAttributeEntry(r: Reader, end: number, values: Map<string, AttributeValue>): void {
  const outer = r.end;
  r.end = end;
  let key = '';
  let value: AttributeValue | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === BYTES) key = r.name();
    else if (field === 2 && (tag & 7) === BYTES) value = readAttributeValue(r, r.length());
    else r.skip(tag & 7);
  }
  r.end = outer;
  if (key === '__proto__') return;
  // An entry without a usable value still replaces an earlier one of the name (the map's last entry wins).
  if (value === undefined) values.delete(key);
  else values.set(key, value);
}

/** AttributeValue { oneof value }: the last field of the oneof on the wire is the one set. */
function readAttributeValue(r: Reader, end: number): AttributeValue | undefined {
  const outer = r.end;
  r.end = end;
  let result: AttributeValue | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wire === BYTES) result = r.name(); // short values repeat too (paths, methods): from the table
    else if (field === 2 && wire === VARINT) result = r.int64();
    else if (field === 3 && wire === FIXED64) {
      if (r.pos + 8 > end) throw new RangeError('truncated double');
      result = r.buf.readDoubleLE(r.pos);
      r.pos += 8;
    } else if (field === 4 && wire === VARINT) result = r.uint32() !== 0;
    else if (field === 5 && wire === BYTES) {
      const e = r.length();
      result = Buffer.from(r.buf.subarray(r.pos, e)); // a copy: the bytes may be a read buffer that is reused
      r.pos = e;
    } else if (field === 6 && wire === BYTES) result = readMillis(r, r.length());
    else if (field === 7 && wire === BYTES) result = readMillis(r, r.length());
    else if (field === 8 && wire === BYTES) result = readStringMap(r, r.length());
    else r.skip(wire);
  }
  r.end = outer;
  return result;
}

/** google.protobuf.Timestamp / Duration { int64 seconds = 1; int32 nanos = 2 } as milliseconds. */
function readMillis(r: Reader, end: number): number {
  const outer = r.end;
  r.end = end;
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === VARINT) seconds = r.int64();
    else if (tag >>> 3 === 2 && (tag & 7) === VARINT) nanos = r.uint32() | 0;
    else r.skip(tag & 7);
  }
  r.end = outer;
  return seconds * 1000 + Math.floor(nanos / 1e6);
}

/** StringMap { map<string, string> entries = 1 }: keys lowercased (header names), as decodeAttributes does. */
function readStringMap(r: Reader, end: number): StringMap {
  const outer = r.end;
  r.end = end;
  const out: Record<string, string> = Object.create(null);
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === BYTES) {
      const entryEnd = r.length();
      const inner = r.end;
      r.end = entryEnd;
      let key = '';
      let value = '';
      while (r.pos < entryEnd) {
        const t = r.uint32();
        if (t >>> 3 === 1 && (t & 7) === BYTES) key = r.name();
        else if (t >>> 3 === 2 && (t & 7) === BYTES) value = r.name();
        else r.skip(t & 7);
      }
      r.end = inner;
      if (key !== '__proto__') out[key.toLowerCase()] = value;
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  return out as StringMap;
}

/** One quotas map entry: string key = 1, QuotaParams { int64 amount = 1; bool best_effort = 2 } value = 2. */
function readQuota(r: Reader, end: number, quotas: Map<string, QuotaRequest>): void {
  const outer = r.end;
  r.end = end;
  let key = '';
  let amount = 0;
  let bestEffort = false;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === BYTES) key = r.string();
    else if (tag >>> 3 === 2 && (tag & 7) === BYTES) {
      // A second params message in one entry merges into the first (protobuf's rule for a message field).
      const e = r.length();
      const inner = r.end;
      r.end = e;
      while (r.pos < e) {
        const t = r.uint32();
        if (t >>> 3 === 1 && (t & 7) === VARINT) amount = r.int64();
        else if (t >>> 3 === 2 && (t & 7) === VARINT) bestEffort = r.uint32() !== 0;
        else r.skip(t & 7);
      }
      r.end = inner;
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  if (key === '__proto__') return;
  quotas.set(key, { amount: Number.isFinite(amount) && amount > 0 ? amount : 1, bestEffort });
}
