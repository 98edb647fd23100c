// isthmus.mixer.v1.CheckRequest read straight from its protobuf bytes into
// the object proto-loader's deserialize gives (keepCase, longs as Number,
// oneofs named, absent fields left out). The Mixer Check handler now runs on
// check-request-reader.ts's values instead (built on this file's Reader);
// decodeCheckRequest stays as the message-shaped reading its tests hold that
// reader equal to. proto-loader gets there by decoding into message objects
// and then copying them with toObject; this does it in one pass. Maps are plain objects,
// and a `__proto__` key is dropped (as proto-loader's copy drops it: it never
// becomes an own key). Malformed bytes throw
// (the server answers INTERNAL, as for proto-loader's errors); unknown
// fields are skipped as protobuf says; a known field with another wire type
// is skipped as unknown.
import type { AttributeValueMessage, AttributesMessage } from './attribute-message.js';

export interface CheckRequestMessage {
  attributes?: AttributesMessage;
  deduplication_id?: string;
  quotas?: Record<string, { amount?: number; best_effort?: boolean }>;
}

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

/** Names (attribute names, map keys) read as the same string each time: slots by a hash of their bytes. */
const NAME_SLOTS = 512;
const MAX_INTERNED_NAME = 64;
const names: (string | undefined)[] = new Array(NAME_SLOTS);

/** A cursor over one message's bytes: buf[pos, end). */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    public end: number,
  ) {}

  /** A varint of up to 32 bits (tags, lengths, int32, bool): the low 32 bits of a longer one, as protobuf reads it. */
  uint32(): number {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (shift < 32) value |= (b & 0x7f) << shift;
      if (b < 0x80) return value >>> 0;
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /** An int64 varint as a Number (two's complement, as protobufjs's LongBits.toNumber). */
  int64(): number {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi |= (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (b < 0x80) {
        lo >>>= 0;
        hi >>>= 0;
        if (hi >>> 31 !== 0) {
          let nlo = (~lo + 1) >>> 0;
          let nhi = ~hi >>> 0;
          if (nlo === 0) nhi = (nhi + 1) >>> 0;
          return -(nlo + nhi * 4294967296);
        }
        return lo + hi * 4294967296;
      }
    }
    throw new RangeError('varint longer than 10 bytes');
  }

  /** A length-delimited field's range; returns its end (pos is at its start). */
  length(): number {
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.end) throw new RangeError('length past the end of the message');
    return end;
  }

  string(): string {
    return this.stringTo(this.length());
  }

  /** The string in buf[pos, end) (pos at its first byte); pos moves to end. */
  stringTo(end: number): string {
    const buf = this.buf;
    // ASCII (the usual attribute) reads the same as latin1, the cheapest slice; anything else as UTF-8.
    let ascii = true;
    for (let i = this.pos; i < end; i++) {
      if (buf[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    const s = ascii ? buf.latin1Slice(this.pos, end) : (buf as unknown as { utf8Slice(start: number, end: number): string }).utf8Slice(this.pos, end);
    this.pos = end;
    return s;
  }

  /**
   * A string that repeats from request to request (an attribute name, a header name): a short ASCII one comes from
   * a small table of those seen before (no new string per Check); anything else as string().
   */
  name(): string {
    const end = this.length();
    const buf = this.buf;
    const start = this.pos;
    const n = end - start;
    if (n > MAX_INTERNED_NAME) return this.stringTo(end);
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return this.stringTo(end);
      hash = Math.imul(hash ^ b, 0x01000193);
    }
    const at = (hash >>> 0) % NAME_SLOTS;
    const known = names[at];
    this.pos = end;
    if (known !== undefined && known.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (known.charCodeAt(i) !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return known;
    }
    const s = buf.latin1Slice(start, end);
    names[at] = s;
    return s;
  }

  skip(wireType: number): void {
    if (wireType === VARINT) this.uint32();
    else if (wireType === FIXED64) this.pos += 8;
    else if (wireType === BYTES) this.pos = this.length();
    else if (wireType === FIXED32) this.pos += 4;
    else throw new RangeError(`wire type ${wireType} is not read here`);
    if (this.pos > this.end) throw new RangeError('field past the end of the message');
  }
}

/** takes a CheckRequest's bytes; returns it as proto-loader would decode it (throws on malformed bytes). */
export function decodeCheckRequest(bytes: Buffer): CheckRequestMessage {
  const r = new Reader(bytes, 0, bytes.length);
  const out: CheckRequestMessage = {};
  while (r.pos < r.end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === BYTES) {
      const end = r.length();
      out.attributes = readAttributes(r, end, out.attributes);
    } else if (field === 2 && wire === BYTES) {
      out.deduplication_id = r.string();
    } else if (field === 3 && wire === BYTES) {
      const end = r.length();
      out.quotas ??= {} as Record<string, { amount?: number; best_effort?: boolean }>;
      readQuotaEntry(r, end, out.quotas);
    } else {
      r.skip(wire);
    }
  }
  return out;
}

/** Attributes { map<string, AttributeValue> attributes = 1 }: a message seen twice merges, as protobuf's do. */
function readAttributes(r: Reader, end: number, into: AttributesMessage | undefined): AttributesMessage {
  const out = into ?? {};
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === BYTES) {
      const entryEnd = r.length();
      out.attributes ??= {} as Record<string, AttributeValueMessage>;
      readAttributeEntry(r, entryEnd, out.attributes);
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  return out;
}

function readAttributeEntry(r: Reader, end: number, map: Record<string, AttributeValueMessage>): void {
  const outer = r.end;
  r.end = end;
  let key = '';
  let value: AttributeValueMessage = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === BYTES) key = r.string();
    else if (field === 2 && (tag & 7) === BYTES) value = readAttributeValue(r, r.length());
    else r.skip(tag & 7);
  }
  r.end = outer;
  if (key !== '__proto__') map[key] = value;
}

/** AttributeValue { oneof value { ... } }: the last field of the oneof on the wire is the one set (the others are cleared). */
function readAttributeValue(r: Reader, end: number): AttributeValueMessage {
  const outer = r.end;
  r.end = end;
  let result: AttributeValueMessage = EMPTY_VALUE;
  while (r.pos < end) {
    const tag = r.uint32();
    const wire = tag & 7;
    const field = tag >>> 3;
    if (field === 1 && wire === BYTES) result = { string_value: r.string(), value: 'string_value' };
    else if (field === 2 && wire === VARINT) result = { int64_value: r.int64(), value: 'int64_value' };
    else if (field === 3 && wire === FIXED64) {
      if (r.pos + 8 > end) throw new RangeError('truncated double');
      result = { double_value: r.buf.readDoubleLE(r.pos), value: 'double_value' };
      r.pos += 8;
    } else if (field === 4 && wire === VARINT) result = { bool_value: r.uint32() !== 0, value: 'bool_value' };
    else if (field === 5 && wire === BYTES) {
      const e = r.length();
      result = { bytes_value: r.buf.subarray(r.pos, e), value: 'bytes_value' };
      r.pos = e;
    } else if (field === 6 && wire === BYTES) result = { timestamp_value: readSecondsNanos(r, r.length()), value: 'timestamp_value' };
    else if (field === 7 && wire === BYTES) result = { duration_value: readSecondsNanos(r, r.length()), value: 'duration_value' };
    else if (field === 8 && wire === BYTES) result = { string_map_value: readStringMap(r, r.length()), value: 'string_map_value' };
    else r.skip(wire);
  }
  r.end = outer;
  return result === EMPTY_VALUE ? {} : result;
}

const EMPTY_VALUE: AttributeValueMessage = Object.freeze({});

/** google.protobuf.Timestamp / Duration { int64 seconds = 1; int32 nanos = 2 }. */
function readSecondsNanos(r: Reader, end: number): { seconds?: number; nanos?: number } {
  const outer = r.end;
  r.end = end;
  const out: { seconds?: number; nanos?: number } = {};
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === VARINT) out.seconds = r.int64();
    else if (tag >>> 3 === 2 && (tag & 7) === VARINT) out.nanos = r.uint32() | 0;
    else r.skip(tag & 7);
  }
  r.end = outer;
  return out;
}

/** StringMap { map<string, string> entries = 1 }. */
function readStringMap(r: Reader, end: number): { entries?: Record<string, string> } {
  const outer = r.end;
  r.end = end;
  const out: { entries?: Record<string, string> } = {};
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
        if (t >>> 3 === 1 && (t & 7) === BYTES) key = r.string();
        else if (t >>> 3 === 2 && (t & 7) === BYTES) value = r.string();
        else r.skip(t & 7);
      }
      r.end = inner;
      out.entries ??= {} as Record<string, string>;
      if (key !== '__proto__') out.entries[key] = value;
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  return out;
}

/** One quotas map entry: string key = 1, QuotaParams { int64 amount = 1; bool best_effort = 2 } value = 2. */
function readQuotaEntry(r: Reader, end: number, map: Record<string, { amount?: number; best_effort?: boolean }>): void {
  const outer = r.end;
  r.end = end;
  let key = '';
  const params: { amount?: number; best_effort?: boolean } = {};
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === BYTES) key = r.string();
    else if (tag >>> 3 === 2 && (tag & 7) === BYTES) {
      const e = r.length();
      const inner = r.end;
      r.end = e;
      while (r.pos < e) {
        const t = r.uint32();
        if (t >>> 3 === 1 && (t & 7) === VARINT) params.amount = r.int64();
        else if (t >>> 3 === 2 && (t & 7) === VARINT) params.best_effort = r.uint32() !== 0;
        else r.skip(t & 7);
      }
      r.end = inner;
    } else {
      r.skip(tag & 7);
    }
  }
  r.end = outer;
  if (key !== '__proto__') map[key] = params;
}
