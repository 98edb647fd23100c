// isthmus.mixer.v1.Attributes as proto-loader decodes it, turned into the
// in-memory values the expressions read (src/policy/attribute-value.ts), and
// back (for tests and the benchmark's client). A peer's message is bounded by
// the gRPC server's max message size; here every value's type is checked and
// anything unexpected is dropped (an attribute the rules cannot read is
// simply absent), never thrown.
import type { AttributeBag, AttributeValue, StringMap } from '../../src/policy/attribute-value.js';

/** One decoded AttributeValue message (oneof `value` names the set field). */
export interface AttributeValueMessage {
  value?: string;
  string_value?: string;
  int64_value?: number | string;
  double_value?: number;
  bool_value?: boolean;
  bytes_value?: Uint8Array;
  timestamp_value?: { seconds?: number | string; nanos?: number };
  duration_value?: { seconds?: number | string; nanos?: number };
  string_map_value?: { entries?: Record<string, string> };
}

export interface AttributesMessage {
  attributes?: Record<string, AttributeValueMessage>;
}

/** An AttributeBag over a plain map (the control plane's view of one request). */
export class MapAttributeBag implements AttributeBag {
  constructor(private readonly values: ReadonlyMap<string, AttributeValue>) {}

  get(name: string): AttributeValue | undefined {
    return this.values.get(name);
  }

  /** Every attribute, for instance building in report-only paths and debugging. */
  entries(): IterableIterator<[string, AttributeValue]> {
    return this.values.entries();
  }
}

const millis = (t: { seconds?: number | string; nanos?: number }): number => Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);

function decodeValue(v: AttributeValueMessage): AttributeValue | undefined {
  switch (v.value) {
    case 'string_value': return typeof v.string_value === 'string' ? v.string_value : undefined;
    case 'int64_value': {
      const n = Number(v.int64_value);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'double_value': return typeof v.double_value === 'number' ? v.double_value : undefined;
    case 'bool_value': return v.bool_value === true;
    case 'bytes_value': return v.bytes_value instanceof Uint8Array ? v.bytes_value : undefined;
    case 'timestamp_value': return v.timestamp_value === undefined ? undefined : millis(v.timestamp_value);
    case 'duration_value': return v.duration_value === undefined ? undefined : millis(v.duration_value);
    case 'string_map_value': {
      const map: Record<string, string> = Object.create(null);
      const entries = v.string_map_value?.entries ?? {};
      for (const key of Object.keys(entries)) {
        const value = entries[key];
        if (typeof value === 'string') map[key.toLowerCase()] = value;
      }
      return map as StringMap;
    }
    default: return undefined;
  }
}

/** takes a decoded Attributes message; returns a bag of its values (badly typed values dropped). */
export function decodeAttributes(message: AttributesMessage | undefined | null): MapAttributeBag {
  const values = new Map<string, AttributeValue>();
  const attributes = message?.attributes;
  if (attributes !== undefined && attributes !== null) {
    for (const name of Object.keys(attributes)) {
      const raw = attributes[name];
      if (raw === undefined || raw === null) continue;
      const value = decodeValue(raw);
      if (value !== undefined) values.set(name, value);
    }
  }
  return new MapAttributeBag(values);
}

/** A value in a test's or the benchmark's shorthand: strings, integers, booleans, string maps; `{ ms }` as a duration. */
export type PlainAttribute = string | number | boolean | Record<string, string> | { readonly durationMs: number } | { readonly timestampMs: number };

/** takes plain values; returns the Attributes message a client sends. */
export function encodeAttributes(plain: Readonly<Record<string, PlainAttribute>>): AttributesMessage {
  const attributes: Record<string, AttributeValueMessage> = {};
  for (const [name, value] of Object.entries(plain)) {
    if (typeof value === 'string') attributes[name] = { string_value: value };
    else if (typeof value === 'number') attributes[name] = Number.isInteger(value) ? { int64_value: value } : { double_value: value };
    else if (typeof value === 'boolean') attributes[name] = { bool_value: value };
    else if ('durationMs' in value) attributes[name] = { duration_value: split(value.durationMs as number) };
    else if ('timestampMs' in value) attributes[name] = { timestamp_value: split(value.timestampMs as number) };
    else attributes[name] = { string_map_value: { entries: { ...(value as Record<string, string>) } } };
  }
  return { attributes };
}

function split(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: (ms - seconds * 1000) * 1e6 };
}
