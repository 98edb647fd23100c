// Turns a message as proto-loader decodes it (snake_case, oneof names added,
// wrappers as `{ value }`, Any as `{ type_url, value: bytes }`) into the
// proto3 JSON shape Envoy's YAML uses (`load_balancing_weight: 3`,
// `typed_config: { '@type': ..., ...fields }`), so the bootstrap readers in
// src/config validate xDS resources exactly as they validate a file.
import type { MessageTypeDefinition, PackageDefinition } from '@grpc/proto-loader';
import { messageNameOf } from './xds-protos.js';

interface FieldInfo {
  readonly repeated: boolean;
  /** Resolved full name for message fields whose type was loaded; '' otherwise. */
  readonly messageType: string;
  /** For a `map<K, V>` field: V's info (the map is an object keyed by K). */
  readonly mapValue: FieldInfo | undefined;
}

interface DescriptorMessage {
  field?: DescriptorField[];
  nestedType?: (DescriptorMessage & { name: string })[];
  options?: { mapEntry?: boolean } | null;
}

interface DescriptorField {
  name: string;
  label: string;
  type: string;
  typeName: string;
}

const WRAPPER_DEFAULTS: Readonly<Record<string, unknown>> = {
  'google.protobuf.DoubleValue': 0,
  'google.protobuf.FloatValue': 0,
  'google.protobuf.Int64Value': '0',
  'google.protobuf.UInt64Value': '0',
  'google.protobuf.Int32Value': 0,
  'google.protobuf.UInt32Value': 0,
  'google.protobuf.BoolValue': false,
  'google.protobuf.StringValue': '',
  'google.protobuf.BytesValue': '',
};
const ANY = 'google.protobuf.Any';
const STRUCT = 'google.protobuf.Struct';
const MAX_DEPTH = 64;

/** A resource that cannot be decoded (bad Any bytes, nesting too deep); the message says where. */
export class ProtoJsonError extends Error {
  override readonly name = 'ProtoJsonError';
}

export class ProtoJson {
  private readonly fields = new Map<string, ReadonlyMap<string, FieldInfo>>();
  /** Every message descriptor by full name, nested ones included (proto-loader lists only top-level messages). */
  private readonly descriptors = new Map<string, DescriptorMessage>();

  constructor(private readonly packageDefinition: PackageDefinition) {
    for (const [fullName, definition] of Object.entries(packageDefinition)) {
      if ('format' in definition && definition.format === 'Protocol Buffer 3 DescriptorProto') {
        this.index(fullName, definition.type as DescriptorMessage, 0);
      }
    }
  }

  private index(fullName: string, descriptor: DescriptorMessage, depth: number): void {
    this.descriptors.set(fullName, descriptor);
    if (depth > 16) return;
    for (const nested of descriptor.nestedType ?? []) this.index(`${fullName}.${nested.name}`, nested, depth + 1);
  }

  /** `decoded` (a message of type `fullName` from proto-loader) in proto3 JSON shape. */
  toJson(fullName: string, decoded: unknown): Record<string, unknown> {
    return this.message(fullName, decoded, '', 0);
  }

  /** A resource sent as an Any `{ type_url, value }`: decoded and converted (no `@type` at the top). */
  resourceToJson(any: { type_url?: unknown; value?: unknown }, path = ''): Record<string, unknown> {
    const json = this.any(any, path, 0);
    delete json['@type'];
    return json;
  }

  private message(fullName: string, decoded: unknown, path: string, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new ProtoJsonError(`${path}: nested more than ${MAX_DEPTH} levels deep`);
    const out: Record<string, unknown> = {};
    if (decoded === null || typeof decoded !== 'object') return out;
    const fields = this.fieldsOf(fullName);
    for (const [key, value] of Object.entries(decoded)) {
      const field = fields.get(key);
      if (field === undefined || value === undefined || value === null) continue; // oneof names proto-loader adds
      const here = path === '' ? key : `${path}.${key}`;
      if (field.mapValue !== undefined) {
        const map: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as object)) map[k] = this.value(field.mapValue, v, `${here}.${k}`, depth + 1);
        out[key] = map;
        continue;
      }
      out[key] = field.repeated && Array.isArray(value)
        ? value.map((item, i) => this.value(field, item, `${here}[${i}]`, depth))
        : this.value(field, value, here, depth);
    }
    return out;
  }

  private value(field: FieldInfo, value: unknown, path: string, depth: number): unknown {
    const type = field.messageType;
    if (type === '') return plain(value, 0);
    if (type in WRAPPER_DEFAULTS) return plain((value as { value?: unknown }).value ?? WRAPPER_DEFAULTS[type], 0);
    if (type === ANY) return this.any(value as { type_url?: unknown; value?: unknown }, path, depth);
    if (type === STRUCT) return structJson(value, depth);
    return this.message(type, value, path, depth + 1);
  }

  private any(any: { type_url?: unknown; value?: unknown }, path: string, depth: number): Record<string, unknown> {
    const typeUrl = typeof any.type_url === 'string' ? any.type_url : '';
    const name = messageNameOf(typeUrl);
    const definition = this.packageDefinition[name];
    // A type this process did not load stays opaque: the readers reject its @type by name.
    if (definition === undefined || !('format' in definition) || definition.format !== 'Protocol Buffer 3 DescriptorProto'
      || !(any.value instanceof Uint8Array)) return { '@type': typeUrl };
    let decoded: unknown;
    try {
      decoded = (definition as MessageTypeDefinition<object, object>).deserialize(Buffer.from(any.value));
    } catch (err) {
      throw new ProtoJsonError(`${path || '(resource)'}: cannot decode ${typeUrl}: ${(err as Error).message}`);
    }
    return { '@type': typeUrl, ...this.message(name, decoded, path, depth + 1) };
  }

  private fieldsOf(fullName: string): ReadonlyMap<string, FieldInfo> {
    let fields = this.fields.get(fullName);
    if (fields !== undefined) return fields;
    const map = new Map<string, FieldInfo>();
    for (const field of this.descriptors.get(fullName)?.field ?? []) {
      const messageType = field.type === 'TYPE_MESSAGE' ? this.resolve(fullName, field.typeName) : '';
      const entry = messageType === '' ? undefined : this.descriptors.get(messageType);
      const mapValue = entry?.options?.mapEntry === true ? this.fieldsOf(messageType).get('value') : undefined;
      map.set(field.name, { repeated: field.label === 'LABEL_REPEATED', messageType, mapValue });
    }
    fields = map;
    this.fields.set(fullName, fields);
    return fields;
  }

  /** Protobuf scoping: a relative name is looked up in the enclosing message, then each enclosing package. */
  private resolve(scope: string, typeName: string): string {
    if (typeName.startsWith('.')) return this.descriptors.has(typeName.slice(1)) ? typeName.slice(1) : '';
    let prefix = scope;
    for (let i = 0; i < 32 && prefix !== ''; i++) {
      const candidate = `${prefix}.${typeName}`;
      if (this.descriptors.has(candidate)) return candidate;
      const dot = prefix.lastIndexOf('.');
      prefix = dot === -1 ? '' : prefix.slice(0, dot);
    }
    return this.descriptors.has(typeName) ? typeName : ''; // an unloaded type: copied as plain data
  }
}

/** Plain data for what needs no schema: bytes become base64 text, everything else is copied. */
function plain(value: unknown, depth: number): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => plain(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = plain(item, depth + 1);
  return out;
}

/** A google.protobuf.Value as proto-loader decodes it (camelCase or snake_case kinds), as the JSON value it stands for. */
function valueJson(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return null;
  const v = value as Record<string, unknown>;
  const pick = (camel: string, snake: string): unknown => v[camel] ?? v[snake];
  const s = pick('stringValue', 'string_value');
  if (s !== undefined && s !== null) return s;
  const n = pick('numberValue', 'number_value');
  if (n !== undefined && n !== null) return n;
  const b = pick('boolValue', 'bool_value');
  if (b !== undefined && b !== null) return b;
  const st = pick('structValue', 'struct_value');
  if (st !== undefined && st !== null) return structJson(st, depth + 1);
  const list = pick('listValue', 'list_value') as { values?: unknown[] } | undefined | null;
  if (list !== undefined && list !== null) return (list.values ?? []).map((item) => valueJson(item, depth + 1));
  return null;
}

/** A google.protobuf.Struct as the plain JSON object it stands for (how Envoy's YAML writes json_format). */
function structJson(value: unknown, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const fields = (value as { fields?: Record<string, unknown> } | null)?.fields;
  if (fields === undefined || fields === null || depth > MAX_DEPTH) return out;
  for (const [key, item] of Object.entries(fields)) out[key] = valueJson(item, depth + 1);
  return out;
}
