// Report entries written straight as protobuf wire bytes when a request ends:
// each entry is one `attributes` field (1) of isthmus.mixer.v1.ReportRequest,
// an Attributes message whose map entries carry AttributeValue messages
// (src/xds/protos/isthmus/mixer/v1/mixer.proto), appended to the batch's own
// growable buffer behind a 5-byte gRPC message prefix. The batch is then the
// ReportRequest as sent, with no object graph per entry and no protobufjs on
// the data-plane thread: the old path built a WireAttributes object per
// request and the agent converted and encoded ~100 of them at once per flush
// (protobufjs fromObject + encode), a stall of the thread that also serves
// requests with --workers 1.
//
// A length is not known before its content is written: a length field is
// reserved (1 byte, 2 for an entry), the content written, and the content
// moved when its varint needs another size (rare: most values are under 128
// bytes). Bounded: one entry at most MAX_REPORT_ENTRY_BYTES (a larger one is
// rewound, and the caller counts it dropped); the buffer grows to at most
// that past the batch's flush threshold.
import type { StaticAttribute, WireAttributeValue } from '../../../src/config/mixer-filter-config.js';
import { ValueType, type AttributeValue, type StringMap } from '../../../src/policy/attribute-value.js';
import { varintSize } from '../../../src/xds/proto-varint.js';

/** One request's encoded attributes, at most (request.headers of a large head fits). */
export const MAX_REPORT_ENTRY_BYTES = 128 * 1024;
/** A batch is sent once its entries take this much (the control plane accepts 4 MiB per message). */
export const MAX_REPORT_BATCH_BYTES = 1024 * 1024;
/** The gRPC message prefix (compressed flag, big-endian length) the batch buffer starts with. */
export const GRPC_PREFIX_BYTES = 5;
const INITIAL_BYTES = 16 * 1024;
/** Byte strings this long or shorter are copied by a loop. */
const SHORT = 32;
/** The largest double below 2^63 (what an int64 field can hold, as a number). */
const INT64_MAX = 2 ** 63 - 1024;

// Wire tags: field number << 3 | wire type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_ENTRY = 0x0a; // ReportRequest.attributes = 1, Attributes.attributes = 1, StringMap.entries = 1, map key = 1
const TAG_MAP_VALUE = 0x12; // map value = 2
const TAG_STRING = 0x0a; // AttributeValue.string_value = 1
const TAG_INT64 = 0x10; // int64_value = 2
const TAG_DOUBLE = 0x19; // double_value = 3
const TAG_BOOL = 0x20; // bool_value = 4
const TAG_BYTES = 0x2a; // bytes_value = 5
const TAG_TIMESTAMP = 0x32; // timestamp_value = 6
const TAG_DURATION = 0x3a; // duration_value = 7
const TAG_STRING_MAP = 0x42; // string_map_value = 8
const TAG_SECONDS = 0x08; // Timestamp/Duration.seconds = 1
const TAG_NANOS = 0x10; // nanos = 2

/** A growable byte buffer with protobuf writes; writes past `limit` set `overflow` and are skipped. */
export class WireWriter {
  buf: Buffer;
  pos = 0;
  /** Writes may not go past this offset (set per entry). */
  limit = Number.MAX_SAFE_INTEGER;
  overflow = false;

  constructor(initial = INITIAL_BYTES) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** takes a byte count; returns whether that many more fit (growing the buffer), else sets overflow. */
  ensure(n: number): boolean {
    const need = this.pos + n;
    if (need <= this.buf.length) return true;
    if (need > this.limit) {
      this.overflow = true;
      return false;
    }
    const grown = Buffer.allocUnsafe(Math.min(Math.max(need, this.buf.length * 2), this.limit));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    return true;
  }

  byte(b: number): void {
    if (this.ensure(1)) this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53 as a varint. */
  varint(n: number): void {
    if (!this.ensure(10)) return;
    const buf = this.buf;
    let pos = this.pos;
    while (n >= 0x80) {
      buf[pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos++] = n;
    this.pos = pos;
  }

  /** An int64 field's value: negative numbers as 64-bit two's complement (10 bytes), as protobuf has it. */
  int64(n: number): void {
    // Beyond int64 (or not a number, as a hostile Content-Length may give): clamped, never a varint past 10 bytes.
    if (!(n === n)) n = 0;
    else if (n >= INT64_MAX) n = INT64_MAX;
    else if (n < -INT64_MAX) n = -INT64_MAX;
    if (n >= 0) {
      this.varint(n);
      return;
    }
    if (!this.ensure(10)) return;
    const abs = -n;
    let lo = abs >>> 0;
    let hi = Math.floor(abs / 0x100000000) >>> 0;
    lo = ~lo >>> 0;
    hi = ~hi >>> 0;
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < 9; i++) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo & 0x01;
    this.pos = pos;
  }

  double(n: number): void {
    if (!this.ensure(8)) return;
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    if (!this.ensure(n)) return;
    if (n <= SHORT) {
      // A key's few bytes: a loop costs less than the native copy's call.
      const buf = this.buf;
      let pos = this.pos;
      for (let i = 0; i < n; i++) buf[pos++] = b[i]!;
      this.pos = pos;
      return;
    }
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  /** takes the bytes the length field gets; returns where it starts (pass both to endLen). */
  beginLen(reserve: number): number {
    const at = this.pos;
    if (this.ensure(reserve)) this.pos += reserve;
    return at;
  }

  /** Writes the length of what follows `at`'s reserved bytes, moving the content if its varint needs another size. */
  endLen(at: number, reserve: number): void {
    if (this.overflow) return;
    const len = this.pos - at - reserve;
    const size = varintSize(len);
    if (size !== reserve) {
      if (size > reserve && !this.ensure(size - reserve)) return;
      this.buf.copyWithin(at + size, at + reserve, this.pos);
      this.pos += size - reserve;
    }
    // Written in place, not through varint(): its ensure() would grow the buffer from `at` and lose what follows.
    const buf = this.buf;
    let n = len;
    let pos = at;
    while (n >= 0x80) {
      buf[pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[pos] = n;
  }

  /** A length-delimited UTF-8 string (its length is its bytes, known once written). */
  string(s: string): void {
    // At most 3 bytes per UTF-16 unit; the exact count only when that bound would pass the limit.
    let max = s.length * 3;
    if (this.pos + 10 + max > this.limit) max = Buffer.byteLength(s);
    if (!this.ensure(10 + max)) return;
    const n = s.length;
    if (n < 0x80) {
      // Most values are short ASCII: written here, no call into Buffer's UTF-8 writer (its cost is the call).
      const buf = this.buf;
      const at = this.pos;
      let pos = at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[at] = n;
        this.pos = pos;
        return;
      }
    }
    // Reserved for an ASCII string's length; endLen moves the bytes when UTF-8 made it longer.
    const reserve = varintSize(n);
    const at = this.pos;
    this.pos += reserve;
    this.pos += this.buf.write(s, this.pos);
    this.endLen(at, reserve);
  }
}

/** One report attribute of a filter's config: its key bytes and type, or, static, its whole map entry. */
interface PlanItem {
  readonly name: string;
  readonly type: ValueType;
  /** The static attribute's encoded map entry (tag, length, key, value); null for a computed one. */
  readonly fixed: Buffer | null;
  /** A computed one's map entry key field and the value's tag: what follows the entry's length. */
  readonly key: Buffer;
}

/** The report attributes of one filter config, in encoding order (statics encoded once, here). */
export class ReportPlan {
  readonly items: readonly PlanItem[];

  /** takes the report attribute names, the listener's statics and the type of a computed name (undefined: never produced). */
  constructor(names: readonly string[], statics: ReadonlyMap<string, StaticAttribute>, typeOf: (name: string) => ValueType | undefined) {
    const items: PlanItem[] = [];
    for (const name of names) {
      const fixed = statics.get(name);
      if (fixed !== undefined) {
        const w = new WireWriter(256);
        mapEntryHead(w, name);
        const value = w.beginLen(1);
        writeWire(w, fixed.wire);
        w.endLen(value, 1);
        w.endLen(1, 1);
        items.push({ name, type: ValueType.STRING, fixed: Buffer.from(w.buf.subarray(0, w.pos)), key: Buffer.alloc(0) });
        continue;
      }
      const type = typeOf(name);
      if (type === undefined) continue;
      const k = new WireWriter(256);
      k.byte(TAG_ENTRY);
      k.string(name);
      k.byte(TAG_MAP_VALUE);
      items.push({ name, type, fixed: null, key: Buffer.from(k.buf.subarray(0, k.pos)) });
    }
    this.items = items;
  }
}

/** What an entry reads its values from (the request's attribute bag). */
export interface ValueSource {
  get(name: string): AttributeValue | undefined;
}

/**
 * Appends one ReportRequest.attributes entry for `source` to `w`; returns whether it fit in MAX_REPORT_ENTRY_BYTES
 * (if not, `w` is as it was).
 */
export function appendReportEntry(w: WireWriter, plan: ReportPlan, source: ValueSource): boolean {
  const start = w.pos;
  w.limit = start + MAX_REPORT_ENTRY_BYTES;
  w.overflow = false;
  w.byte(TAG_ENTRY);
  const entry = w.beginLen(2);
  const items = plan.items;
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (item.fixed !== null) {
      w.bytes(item.fixed);
      continue;
    }
    const value = source.get(item.name);
    if (value === undefined) continue;
    w.byte(TAG_ENTRY);
    const at = w.beginLen(1);
    w.bytes(item.key);
    const inner = w.beginLen(1);
    writeComputed(w, item.type, value);
    w.endLen(inner, 1);
    w.endLen(at, 1);
  }
  w.endLen(entry, 2);
  const fits = !w.overflow && w.pos - start <= MAX_REPORT_ENTRY_BYTES;
  if (!fits) w.pos = start;
  w.overflow = false;
  w.limit = Number.MAX_SAFE_INTEGER;
  return fits;
}

/** Tag and reserved length of an Attributes map entry, its key, and the value's tag (endLen(start + 1, 1) closes it). */
function mapEntryHead(w: WireWriter, name: string): void {
  w.byte(TAG_ENTRY);
  w.beginLen(1);
  w.byte(TAG_ENTRY);
  w.string(name);
  w.byte(TAG_MAP_VALUE);
}

/** An AttributeValue's one field for a computed value, typed by the attribute (as the bag's toWire did). */
function writeComputed(w: WireWriter, type: ValueType, value: AttributeValue): void {
  switch (type) {
    case ValueType.INT64:
      w.byte(TAG_INT64);
      w.int64(Math.trunc(value as number));
      return;
    case ValueType.DOUBLE:
      w.byte(TAG_DOUBLE);
      w.double(value as number);
      return;
    case ValueType.BOOL:
      w.byte(TAG_BOOL);
      w.byte(value === true ? 1 : 0);
      return;
    case ValueType.TIMESTAMP:
    case ValueType.DURATION: {
      const ms = value as number;
      const seconds = Math.floor(ms / 1000);
      time(w, type === ValueType.TIMESTAMP ? TAG_TIMESTAMP : TAG_DURATION, seconds, Math.round((ms - seconds * 1000) * 1e6));
      return;
    }
    case ValueType.STRING_MAP:
      stringMap(w, value as StringMap);
      return;
    case ValueType.BYTES:
      w.byte(TAG_BYTES);
      w.varint((value as Uint8Array).length);
      w.bytes(value as Uint8Array);
      return;
    default:
      w.byte(TAG_STRING);
      w.string(typeof value === 'string' ? value : String(value));
  }
}

/** A static attribute's value in its configured wire form. */
function writeWire(w: WireWriter, v: WireAttributeValue): void {
  if ('string_value' in v) {
    w.byte(TAG_STRING);
    w.string(v.string_value);
  } else if ('int64_value' in v) {
    w.byte(TAG_INT64);
    w.int64(Math.trunc(v.int64_value));
  } else if ('double_value' in v) {
    w.byte(TAG_DOUBLE);
    w.double(v.double_value);
  } else if ('bool_value' in v) {
    w.byte(TAG_BOOL);
    w.byte(v.bool_value ? 1 : 0);
  } else if ('bytes_value' in v) {
    w.byte(TAG_BYTES);
    w.varint(v.bytes_value.length);
    w.bytes(v.bytes_value);
  } else if ('timestamp_value' in v) time(w, TAG_TIMESTAMP, v.timestamp_value.seconds, v.timestamp_value.nanos);
  else if ('duration_value' in v) time(w, TAG_DURATION, v.duration_value.seconds, v.duration_value.nanos);
  else stringMap(w, v.string_map_value.entries);
}

/** google.protobuf.Timestamp or Duration (proto3: zero fields left out). */
function time(w: WireWriter, tag: number, seconds: number, nanos: number): void {
  w.byte(tag);
  const at = w.beginLen(1);
  if (seconds !== 0) {
    w.byte(TAG_SECONDS);
    w.int64(seconds);
  }
  if (nanos !== 0) {
    w.byte(TAG_NANOS);
    w.int64(nanos); // int32: a negative one is sign-extended to 10 bytes, as for int64
  }
  w.endLen(at, 1);
}

function stringMap(w: WireWriter, map: StringMap): void {
  w.byte(TAG_STRING_MAP);
  const outer = w.beginLen(1);
  for (const key in map) {
    const value = map[key];
    if (typeof value !== 'string') continue;
    w.byte(TAG_ENTRY);
    const at = w.beginLen(1);
    w.byte(TAG_ENTRY);
    w.string(key);
    w.byte(TAG_MAP_VALUE);
    w.string(value);
    w.endLen(at, 1);
  }
  w.endLen(outer, 1);
}
