// Turning the values inside an instance (attribute values: string, number,
// boolean, Uint8Array, string map) into what adapters write out: a dimension's
// string form (memquota keys, prometheus labels, statsd names), a number
// (metric values) and a JSON-friendly value (log records).
import { isIP } from 'node:net';
import type { InstanceValue } from '../adapter.js';

/** Takes 4 or 16 bytes; returns the IP address text, else null. */
export function ipFromBytes(bytes: Uint8Array): string | null {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return null;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // RFC 5952: the longest run of two or more zero groups becomes "::"
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
}

/** Takes an attribute value; returns its string form (Istio compares dimensions by it). */
export function valueString(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return ipFromBytes(value) ?? Buffer.from(value).toString('hex');
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return Object.keys(obj)
      .sort()
      .map((k) => `${k}=${valueString(obj[k])}`)
      .join(',');
  }
  return String(value);
}

/** Takes an attribute value; returns it as a number (booleans 1/0, numeric strings), else undefined. */
export function valueNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Takes an instance field that should be a map (dimensions, variables); returns it, or an empty map. */
export function fieldMap(instance: InstanceValue, name: string): Readonly<Record<string, unknown>> {
  const value = instance.fields[name];
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array)
    ? (value as Record<string, unknown>)
    : {};
}

/** Takes an attribute value; returns a JSON-friendly form (bytes as an IP or base64, maps copied). */
export function jsonValue(value: unknown): unknown {
  if (value === undefined || value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return ipFromBytes(value) ?? Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonValue(v);
    return out;
  }
  return String(value);
}

/** True when `text` is an IPv4 or IPv6 address. */
export function isIpAddress(text: string): boolean {
  return isIP(text) !== 0;
}
