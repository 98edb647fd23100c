// A strict reader of proto3 JSON against Envoy's own protos (the copies in
// @grpc/grpc-js-xds's deps/, loaded with protobufjs, field names as in the
// .proto): every key must be a field of its message, every Any's `@type`
// a loaded message, every well-known type in its JSON form. What a tool
// that reads Envoy's JSON would accept, we must produce.
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const DEPS = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(DEPS, d));
// Envoy's protos import google/protobuf/descriptor.proto (for their options), which protobufjs does not
// ship as a common file: register it, as @grpc/proto-loader does when it loads (no longer a side effect
// of importing src/xds/xds-protos.ts, which now loads proto-loader only when the protos are needed).
protobuf.common('descriptor', (require('protobufjs/google/protobuf/descriptor.json') as { nested: { google: { nested: { protobuf: { nested: protobuf.INamespace['nested'] } } } } }).nested.google.nested.protobuf.nested!);

export function loadEnvoyProtos(files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of INCLUDE) {
      const full = path.join(dir, target);
      try {
        require('node:fs').accessSync(full);
        return full;
      } catch {
        // next
      }
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

const DURATION = /^-?\d+(\.\d{1,9})?s$/;
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const WRAPPERS = new Set(['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `google.protobuf.${n}`));

/** Takes a message type and a JSON value; returns every way the value is not that message's proto3 JSON (empty: it is). */
export function proto3JsonProblems(root: protobuf.Root, typeName: string, value: unknown, at = '$'): string[] {
  const problems: string[] = [];
  checkMessage(root, root.lookupType(typeName), value, at, problems);
  return problems;
}

function checkMessage(root: protobuf.Root, type: protobuf.Type, value: unknown, at: string, problems: string[]): void {
  const name = type.fullName.replace(/^\./, '');
  if (name === 'google.protobuf.Any') return checkAny(root, value, at, problems);
  if (name === 'google.protobuf.Duration') {
    if (typeof value !== 'string' || !DURATION.test(value)) problems.push(`${at}: not a Duration ("1.5s"): ${JSON.stringify(value)}`);
    return;
  }
  if (name === 'google.protobuf.Timestamp') {
    if (typeof value !== 'string' || !TIMESTAMP.test(value)) problems.push(`${at}: not a Timestamp: ${JSON.stringify(value)}`);
    return;
  }
  if (WRAPPERS.has(name)) return checkScalar(type.fields.value!, value, at, problems);
  if (name === 'google.protobuf.Struct' || name === 'google.protobuf.Value' || name === 'google.protobuf.ListValue') return;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${at}: expected a ${name} object, got ${JSON.stringify(value)}`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (key === '@type') continue;
    const field = type.fields[key];
    if (field === undefined) {
      problems.push(`${at}.${key}: not a field of ${name}`);
      continue;
    }
    checkField(root, field, v, `${at}.${key}`, problems);
  }
}

function checkAny(root: protobuf.Root, value: unknown, at: string, problems: string[]): void {
  const typeUrl = (value as { '@type'?: unknown } | null)?.['@type'];
  if (typeof typeUrl !== 'string' || !typeUrl.startsWith('type.googleapis.com/')) {
    problems.push(`${at}: an Any without a type.googleapis.com/ @type`);
    return;
  }
  let inner: protobuf.Type;
  try {
    inner = root.lookupType(typeUrl.slice('type.googleapis.com/'.length));
  } catch {
    problems.push(`${at}: @type ${typeUrl} is not a known message`);
    return;
  }
  checkMessage(root, inner, value, at, problems);
}

function checkField(root: protobuf.Root, field: protobuf.Field, value: unknown, at: string, problems: string[]): void {
  if (field instanceof protobuf.MapField) {
    if (value === null || typeof value !== 'object') return void problems.push(`${at}: expected a map`);
    for (const [k, v] of Object.entries(value)) checkOne(root, field, v, `${at}[${JSON.stringify(k)}]`, problems);
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) return void problems.push(`${at}: expected a list`);
    value.forEach((v, i) => checkOne(root, field, v, `${at}[${i}]`, problems));
    return;
  }
  checkOne(root, field, value, at, problems);
}

function checkOne(root: protobuf.Root, field: protobuf.Field, value: unknown, at: string, problems: string[]): void {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return checkMessage(root, resolved, value, at, problems);
  if (resolved instanceof protobuf.Enum) {
    if (!(typeof value === 'number' || (typeof value === 'string' && value in resolved.values))) problems.push(`${at}: not a value of ${resolved.name}: ${JSON.stringify(value)}`);
    return;
  }
  checkScalar(field, value, at, problems);
}

function checkScalar(field: protobuf.Field, value: unknown, at: string, problems: string[]): void {
  const ok = field.type === 'bool' ? typeof value === 'boolean'
    : field.type === 'string' || field.type === 'bytes' ? typeof value === 'string'
      : /int|fixed|double|float/.test(field.type) ? typeof value === 'number' || (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))
        : true;
  if (!ok) problems.push(`${at}: not a ${field.type}: ${JSON.stringify(value)}`);
}
