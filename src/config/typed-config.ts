// google.protobuf.Any in its proto3-JSON form: `{ '@type': <type URL>, ...fields }`.
// A reader accepts only the type URLs it knows and hands back the other fields.

import type { ObjectReader, ValueReader } from './yaml-reader.js';

/** A typed_config carrying one of `typeUrls`; returns its type and the reader for its other fields. */
export function readTypedConfigOf(v: ValueReader, typeUrls: readonly string[]): { type: string; obj: ObjectReader } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const typeField = obj.field('@type');
  typeField.require();
  const type = typeField.string();
  if (type === undefined) return undefined;
  if (!typeUrls.includes(type)) {
    // Envoy's v2 API (removed in Envoy 1.18) is common in older examples: say so, once, in the same line.
    const v2 = /\.v2(alpha)?\.|\.config\.filter\./.test(type) ? '; that is an Envoy v2 API type, which Envoy no longer reads (use the v3 type)' : '';
    typeField.problem((typeUrls.length === 1 ? `must be ${typeUrls[0]} (got "${type}")` : `must be one of ${typeUrls.join(', ')} (got "${type}")`) + v2);
    return undefined;
  }
  return { type, obj };
}

/** A typed_config that must carry exactly `typeUrl`; returns the reader for its other fields. */
export function readTypedConfig(v: ValueReader, typeUrl: string): ObjectReader | undefined {
  return readTypedConfigOf(v, [typeUrl])?.obj;
}

/** A typed_config of a message with no options we support: only `@type` is allowed. */
export function readEmptyTypedConfig(v: ValueReader, typeUrl: string): boolean {
  const obj = readTypedConfig(v, typeUrl);
  obj?.done();
  return obj !== undefined;
}

/** `typed_config: {}`: Envoy takes an empty Any as the filter's default config (its examples write the router so). */
export function isEmptyAny(v: ValueReader): boolean {
  if (v.missing || !v.isMap()) return false;
  const obj = v.object();
  if (obj === undefined || obj.keys().length !== 0) return false;
  obj.done();
  return true;
}
