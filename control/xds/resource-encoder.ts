// Checks a resource (a protobufjs plain object with snake_case fields) against
// its message schema, packs every proto3-JSON style Any
// (`{ '@type': 'type.googleapis.com/...', ...fields }`) into
// `{ type_url, value }`, serializes it, and pre-encodes the two wrappers the
// ADS responses need. This runs once per (resource, version), when a snapshot
// is set; the resulting bytes are shared by every stream.
import { createHash } from 'node:crypto';
import { loadXdsProtos, messageNameOf, TYPE_URL } from './protos.js';
import { ProtoSchema, type FieldSchema, type MessageSchema } from './proto-schema.js';
import { encodeAny, lengthDelimitedField, stringField } from './proto-writer.js';

export interface EncodedResource {
  readonly typeUrl: string;
  readonly name: string;
  /** The object the caller gave (treated as immutable), for config dumps. */
  readonly resource: object;
  /** The serialized message. */
  readonly bytes: Buffer;
  /** Hash of `bytes`: the per-resource version of the incremental protocol. */
  readonly version: string;
  /** DiscoveryResponse field 2 (`repeated Any resources`) entry: tag, length, Any. */
  readonly sotwEntry: Buffer;
  /** DeltaDiscoveryResponse field 2 (`repeated Resource resources`) entry: tag, length, Resource{name, version, Any}. */
  readonly deltaEntry: Buffer;
}

/** A resource that does not match its schema; `problems` lists every field found wrong. */
export class ResourceError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} invalid resources:\n${problems.join('\n')}`);
    this.name = 'ResourceError';
    this.problems = problems;
  }
}

/** Counts work done, so tests and benchmarks can prove each resource is encoded once. */
export const encoderStats = { resourcesEncoded: 0 };

const MAX_PROBLEMS_PER_RESOURCE = 20;
const MAX_DEPTH = 100;
const ANY = 'google.protobuf.Any';

let schema: ProtoSchema | undefined;
function protoSchema(): ProtoSchema {
  schema ??= new ProtoSchema(loadXdsProtos().packageDefinition);
  return schema;
}

/** The field naming a resource of each type. */
export function resourceNameOf(typeUrl: string, resource: object): unknown {
  const record = resource as Record<string, unknown>;
  return typeUrl === TYPE_URL.ENDPOINT ? record.cluster_name : record.name;
}

/** Validates and encodes one resource; throws ResourceError naming the resource and every bad field. */
export function encodeResource(typeUrl: string, resource: object): EncodedResource {
  const messageName = messageNameOf(typeUrl);
  const label = messageName.slice(messageName.lastIndexOf('.') + 1);
  const name = resourceNameOf(typeUrl, resource);
  const what = `${label} ${typeof name === 'string' ? JSON.stringify(name) : '(unnamed)'}`;
  const problems: string[] = [];
  if (typeof name !== 'string' || name === '') {
    problems.push(`${what}: field ${typeUrl === TYPE_URL.ENDPOINT ? 'cluster_name' : 'name'} must be a non-empty string`);
  }
  const message = protoSchema().message(messageName);
  if (message === undefined) throw new ResourceError([`${what}: type ${typeUrl} is not served by this control plane`]);
  const packed = packMessage(message, resource, '', problems, 0);
  if (problems.length > 0) {
    throw new ResourceError(problems.slice(0, MAX_PROBLEMS_PER_RESOURCE).map((p) => (p.startsWith(what) ? p : `${what}: ${p}`)));
  }
  const bytes = Buffer.from(loadXdsProtos().messageType(messageName)!.serialize(packed as object));
  const version = createHash('sha256').update(bytes).digest('base64url').slice(0, 22);
  const any = encodeAny(typeUrl, bytes);
  encoderStats.resourcesEncoded++;
  return Object.freeze({
    typeUrl,
    name: name as string,
    resource,
    bytes,
    version,
    sotwEntry: lengthDelimitedField(2, any),
    deltaEntry: lengthDelimitedField(
      2,
      Buffer.concat([stringField(3, name as string), stringField(1, version), lengthDelimitedField(2, any)]),
    ),
  });
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function fieldPath(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

/** Returns a copy of `value` with every Any packed; pushes a problem for each field that does not fit. */
function packMessage(message: MessageSchema, value: unknown, path: string, problems: string[], depth: number): unknown {
  if (!isPlainObject(value)) {
    problems.push(`field ${path || '(root)'}: expected an object (${message.fullName}), got ${describe(value)}`);
    return undefined;
  }
  if (depth > MAX_DEPTH) {
    problems.push(`field ${path}: nested more than ${MAX_DEPTH} levels deep`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const fieldValue = value[key];
    if (fieldValue === undefined || fieldValue === null) continue; // absent, as protobufjs reads it
    const field = message.fields.get(key) ?? wellKnownField(message, key);
    const here = fieldPath(path, key);
    if (field === undefined) {
      problems.push(`field ${here}: unknown field of ${message.fullName}`);
      continue;
    }
    out[field.name] = packField(field, fieldValue, here, problems, depth);
  }
  return out;
}

/**
 * protobufjs bundles google/protobuf/struct.proto with camelCase field names
 * (stringValue) whatever keepCase says; accept the snake_case spelling used
 * everywhere else in a resource, so callers need not know.
 */
function wellKnownField(message: MessageSchema, key: string): FieldSchema | undefined {
  if (!message.fullName.startsWith('google.protobuf.') || !key.includes('_')) return undefined;
  return message.fields.get(key.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase()));
}

function packField(field: FieldSchema, value: unknown, path: string, problems: string[], depth: number): unknown {
  const entry = field.kind === 'message' ? protoSchema().message(field.typeName) : undefined;
  if (entry?.mapEntry === true) return packMap(entry, value, path, problems, depth);
  if (field.repeated) {
    if (!Array.isArray(value)) {
      problems.push(`field ${path}: expected an array, got ${describe(value)}`);
      return undefined;
    }
    return value.map((item, index) => packSingle(field, item, `${path}[${index}]`, problems, depth));
  }
  return packSingle(field, value, path, problems, depth);
}

function packMap(entry: MessageSchema, value: unknown, path: string, problems: string[], depth: number): unknown {
  if (!isPlainObject(value)) {
    problems.push(`field ${path}: expected an object (a map), got ${describe(value)}`);
    return undefined;
  }
  const valueField = entry.fields.get('value')!;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    out[key] = packSingle(valueField, value[key], `${path}[${JSON.stringify(key)}]`, problems, depth);
  }
  return out;
}

function packSingle(field: FieldSchema, value: unknown, path: string, problems: string[], depth: number): unknown {
  switch (field.kind) {
    case 'message':
      return field.typeName === ANY ? packAny(value, path, problems, depth) : packNested(field.typeName, value, path, problems, depth);
    case 'enum':
      return checkEnum(field.typeName, value, path, problems);
    default:
      if (!scalarFits(field.kind, value)) problems.push(`field ${path}: expected ${field.kind}, got ${describe(value)}`);
      return value;
  }
}

function packNested(typeName: string, value: unknown, path: string, problems: string[], depth: number): unknown {
  const message = protoSchema().message(typeName);
  if (message === undefined) {
    problems.push(`field ${path}: type ${typeName} is not loaded`);
    return undefined;
  }
  return packMessage(message, value, path, problems, depth + 1);
}

function packAny(value: unknown, path: string, problems: string[], depth: number): unknown {
  if (!isPlainObject(value)) {
    problems.push(`field ${path}: expected an object with '@type' (google.protobuf.Any), got ${describe(value)}`);
    return undefined;
  }
  const typeUrl = value['@type'];
  if (typeUrl === undefined && typeof value.type_url === 'string' && value.value instanceof Uint8Array) return value; // already packed
  if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) {
    problems.push(`field ${path}['@type']: expected a type URL such as 'type.googleapis.com/envoy...', got ${describe(typeUrl)}`);
    return undefined;
  }
  const messageName = messageNameOf(typeUrl);
  const message = protoSchema().message(messageName);
  const definition = loadXdsProtos().messageType(messageName);
  if (message === undefined || definition === undefined) {
    problems.push(`field ${path}['@type']: ${typeUrl} is not a message this control plane loads`);
    return undefined;
  }
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(value)) if (key !== '@type') fields[key] = value[key];
  const before = problems.length;
  const packed = packMessage(message, fields, path, problems, depth + 1);
  if (problems.length > before) return undefined;
  return { type_url: typeUrl, value: Buffer.from(definition.serialize(packed as object)) };
}

function checkEnum(typeName: string, value: unknown, path: string, problems: string[]): unknown {
  const enumType = protoSchema().enumType(typeName);
  if (enumType === undefined) {
    problems.push(`field ${path}: enum ${typeName} is not loaded`);
  } else if (typeof value === 'string' ? !enumType.names.has(value) : typeof value !== 'number' || !enumType.numbers.has(value)) {
    const allowed = [...enumType.names].slice(0, 12).join(', ');
    problems.push(`field ${path}: expected one of ${typeName} (${allowed}), got ${describe(value)}`);
  }
  return value;
}

const INT64_PATTERN = /^-?\d{1,20}$/;

function scalarFits(kind: string, value: unknown): boolean {
  switch (kind) {
    case 'string':
      return typeof value === 'string';
    case 'bool':
      return typeof value === 'boolean';
    case 'bytes':
      return value instanceof Uint8Array || typeof value === 'string';
    case 'double':
    case 'float':
      return typeof value === 'number';
    case 'int32':
      return Number.isInteger(value) && (value as number) >= -0x80000000 && (value as number) <= 0x7fffffff;
    case 'uint32':
      return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff;
    case 'int64':
      return Number.isSafeInteger(value) || (typeof value === 'string' && INT64_PATTERN.test(value));
    case 'uint64':
      return (Number.isSafeInteger(value) && (value as number) >= 0) || (typeof value === 'string' && /^\d{1,20}$/.test(value));
    default:
      return false;
  }
}
