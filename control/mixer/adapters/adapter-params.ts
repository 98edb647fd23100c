// Reading a handler's `params` (YAML or JSON decoded to plain data) into typed,
// validated values. Istio's params are protobuf messages: their JSON form
// accepts both the camelCase and the original snake_case field name
// (`instanceName` / `instance_name`), so every reader accepts both. Durations
// are Go/protobuf duration strings ("5s", "1m30s", "250ms"). Each reader throws
// AdapterParamError naming the field path, and an unknown field is an error
// (a misspelt field that is silently ignored is worse than a refused handler).
import { AdapterParamError } from '../adapter.js';

export type ParamObject = Readonly<Record<string, unknown>>;

/** Takes a parent path and a field name; returns "parent.name" (or "name" at the top). */
export function fieldPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  return typeof value === 'object' ? 'a map' : `${typeof value} ${String(value)}`;
}

/** Takes raw params (undefined/null = empty) and the names it may hold; returns it as an object, or throws on a non-map or unknown field. */
export function readObject(raw: unknown, path: string, known: readonly string[]): ParamObject {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw) || raw instanceof Uint8Array) {
    throw new AdapterParamError(path || 'params', `${path || 'params'} must be a map, not ${describe(raw)}`);
  }
  const allowed = new Set<string>();
  for (const name of known) {
    allowed.add(name);
    allowed.add(snakeCase(name));
  }
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) {
      throw new AdapterParamError(fieldPath(path, key), `unknown field "${key}" in ${path || 'params'} (known: ${known.join(', ')})`);
    }
  }
  return raw as ParamObject;
}

/** Takes an object and a camelCase field name; returns its value under either spelling. */
export function rawField(obj: ParamObject, name: string): unknown {
  const value = obj[name];
  return value === undefined ? obj[snakeCase(name)] : value;
}

export function readString(obj: ParamObject, name: string, path: string, fallback: string): string {
  const value = rawField(obj, name);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string') throw new AdapterParamError(fieldPath(path, name), `${fieldPath(path, name)} must be a string, not ${describe(value)}`);
  return value;
}

export function readBool(obj: ParamObject, name: string, path: string, fallback: boolean): boolean {
  const value = rawField(obj, name);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw new AdapterParamError(fieldPath(path, name), `${fieldPath(path, name)} must be true or false, not ${describe(value)}`);
  return value;
}

/** A number within [min, max]; `integer` refuses fractions. Numeric strings are accepted (int64 fields arrive as strings in proto JSON). */
export function readNumber(
  obj: ParamObject,
  name: string,
  path: string,
  fallback: number,
  limits: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const where = fieldPath(path, name);
  let value = rawField(obj, name);
  if (value === undefined || value === null) return fallback;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) value = Number(value);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new AdapterParamError(where, `${where} must be a number, not ${describe(value)}`);
  if (limits.integer === true && !Number.isInteger(value)) throw new AdapterParamError(where, `${where} must be a whole number, not ${value}`);
  if (limits.min !== undefined && value < limits.min) throw new AdapterParamError(where, `${where} must be at least ${limits.min}, not ${value}`);
  if (limits.max !== undefined && value > limits.max) throw new AdapterParamError(where, `${where} must be at most ${limits.max}, not ${value}`);
  return value;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Takes a Go/protobuf duration string ("1m30s", "250ms", "0"); returns milliseconds, or null when it is not one. */
export function parseDurationMs(text: string): number | null {
  if (text === '0') return 0;
  if (text === '') return null;
  let total = 0;
  DURATION_PART.lastIndex = 0;
  while (DURATION_PART.lastIndex < text.length) {
    const m = DURATION_PART.exec(text);
    if (m === null) return null;
    total += Number(m[1]) * DURATION_UNITS[m[2]];
  }
  return total;
}

/** A duration field in milliseconds, at least `minMs`. */
export function readDurationMs(obj: ParamObject, name: string, path: string, fallbackMs: number, minMs = 0): number {
  const where = fieldPath(path, name);
  const value = rawField(obj, name);
  if (value === undefined || value === null) return fallbackMs;
  const ms = typeof value === 'string' ? parseDurationMs(value.trim()) : null;
  if (ms === null) throw new AdapterParamError(where, `${where} must be a duration such as "5s", "250ms" or "1m30s", not ${describe(value)}`);
  if (ms < minMs) throw new AdapterParamError(where, `${where} must be at least ${formatDurationMs(minMs)}, not ${value as string}`);
  return ms;
}

/** Takes milliseconds; returns Go's Duration.String() form ("1.5s", "250ms", "1m30s", "0s"). */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  if (rest < 1) return `${sign}${trimNumber(rest * 1000)}µs`;
  if (rest < 1000) return `${sign}${trimNumber(rest)}ms`;
  let out = '';
  const hours = Math.floor(rest / 3_600_000);
  if (hours > 0) out += `${hours}h`;
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  if (hours > 0 || minutes > 0) out += `${minutes}m`;
  rest -= minutes * 60_000;
  return `${sign}${out}${trimNumber(rest / 1000)}s`;
}

function trimNumber(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** An enum field given by name (Istio's YAML spelling, e.g. "IP_ADDRESSES"). */
export function readEnum<T extends string>(obj: ParamObject, name: string, path: string, values: readonly T[], fallback: T): T {
  const where = fieldPath(path, name);
  const value = rawField(obj, name);
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
    throw new AdapterParamError(where, `${where} must be one of ${values.join(', ')}, not ${describe(value)}`);
  }
  return value as T;
}

/** A list field of at most `max` items; returns the raw items for the caller to read. */
export function readList(obj: ParamObject, name: string, path: string, max: number): readonly unknown[] {
  const where = fieldPath(path, name);
  const value = rawField(obj, name);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new AdapterParamError(where, `${where} must be a list, not ${describe(value)}`);
  if (value.length > max) throw new AdapterParamError(where, `${where} has ${value.length} items, over the limit of ${max}`);
  return value;
}

export function readStringList(obj: ParamObject, name: string, path: string, max: number): string[] {
  return readList(obj, name, path, max).map((item, i) => {
    if (typeof item !== 'string') throw new AdapterParamError(`${fieldPath(path, name)}[${i}]`, `${fieldPath(path, name)}[${i}] must be a string, not ${describe(item)}`);
    return item;
  });
}

/** A map field of at most `max` entries; returns its entries with raw values. */
export function readMapEntries(obj: ParamObject, name: string, path: string, max: number): [string, unknown][] {
  const where = fieldPath(path, name);
  const value = rawField(obj, name);
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new AdapterParamError(where, `${where} must be a map, not ${describe(value)}`);
  const entries = Object.entries(value);
  if (entries.length > max) throw new AdapterParamError(where, `${where} has ${entries.length} entries, over the limit of ${max}`);
  return entries;
}

export function readStringMap(obj: ParamObject, name: string, path: string, max: number): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of readMapEntries(obj, name, path, max)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new AdapterParamError(`${fieldPath(path, name)}.${key}`, `${fieldPath(path, name)}.${key} must be a string, not ${describe(value)}`);
    }
    out[key] = String(value);
  }
  return out;
}

/** Takes "host:port" or "[v6]:port"; returns its parts, or throws naming the field. */
export function readHostPort(obj: ParamObject, name: string, path: string, fallback: string): { host: string; port: number } {
  const where = fieldPath(path, name);
  const text = readString(obj, name, path, fallback);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port < 1 || port > 65535) throw new AdapterParamError(where, `${where} must be host:port (e.g. "localhost:8125" or "[::1]:8125"), not "${text}"`);
  return { host: m[1] ?? m[2], port };
}
