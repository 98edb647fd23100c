// The Fluentd forward protocol's wire forms, on @msgpack/msgpack: an entry is
// [EventTime, record] (EventTime is msgpack ext type 0: seconds and
// nanoseconds, big-endian uint32 each), and a batch for one tag is sent in
// PackedForward mode: [tag, <bin: the entries' msgpack one after another>,
// { size: n }], which lets each entry be encoded once when it arrives.
import { encode, ExtensionCodec } from '@msgpack/msgpack';

/** Fluentd's EventTime (nanosecond resolution) as a value the codec recognises. */
export class EventTime {
  constructor(readonly seconds: number, readonly nanoseconds: number) {}

  static fromMs(ms: number): EventTime {
    const seconds = Math.floor(ms / 1000);
    return new EventTime(seconds, Math.round((ms - seconds * 1000) * 1e6));
  }
}

export const EVENT_TIME_EXT = 0;

export const forwardCodec = new ExtensionCodec();
forwardCodec.register({
  type: EVENT_TIME_EXT,
  encode: (value: unknown) => {
    if (!(value instanceof EventTime)) return null;
    const out = new Uint8Array(8);
    const view = new DataView(out.buffer);
    view.setUint32(0, value.seconds >>> 0);
    view.setUint32(4, value.nanoseconds >>> 0);
    return out;
  },
  decode: (data: Uint8Array) => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    return new EventTime(view.getUint32(0), view.getUint32(4));
  },
});

/** Takes a time (ms since the epoch) and a record; returns the entry's msgpack bytes. */
export function encodeEntry(timeMs: number, record: Readonly<Record<string, unknown>>): Uint8Array {
  return encode([EventTime.fromMs(timeMs), record], { extensionCodec: forwardCodec, ignoreUndefined: true });
}

/** Takes a tag and encoded entries; returns one PackedForward message. */
export function encodePackedForward(tag: string, entries: readonly Uint8Array[]): Uint8Array {
  return encode([tag, Buffer.concat(entries), { size: entries.length }]);
}
