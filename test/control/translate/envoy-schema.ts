// A strict check of translated resources against the Envoy .proto files
// (loaded here with @grpc/proto-loader, independently of the xDS server's
// own list): every field name must exist in
// its message, every enum value must be defined, every '@type' must name a
// loaded message whose fields are checked in turn.
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { ProtoSchema, type FieldSchema } from '../../../control/xds/proto-schema.js';

const FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/fault/v3/fault.proto',
  'envoy/extensions/filters/http/cors/v3/cors.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto',
  'envoy/extensions/filters/listener/http_inspector/v3/http_inspector.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
];

let schema: ProtoSchema | undefined;

function load(): ProtoSchema {
  if (schema !== undefined) return schema;
  const require = createRequire(import.meta.url);
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const definition = protoLoader.loadSync(FILES, {
    keepCase: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => path.join(deps, d)),
  });
  schema = new ProtoSchema(definition);
  return schema;
}

const SCALARS: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string',
  bool: (v) => typeof v === 'boolean',
  bytes: (v) => typeof v === 'string' || v instanceof Uint8Array,
  double: (v) => typeof v === 'number',
  float: (v) => typeof v === 'number',
  int32: (v) => Number.isInteger(v),
  uint32: (v) => Number.isInteger(v) && (v as number) >= 0,
  int64: (v) => Number.isSafeInteger(v) || (typeof v === 'string' && /^-?\d+$/.test(v)),
  uint64: (v) => (Number.isSafeInteger(v) && (v as number) >= 0) || (typeof v === 'string' && /^\d+$/.test(v)),
};

function checkValue(field: FieldSchema, value: unknown, at: string, problems: string[]): void {
  const s = load();
  if (field.kind === 'message') {
    const entry = s.message(field.typeName);
    if (entry?.mapEntry) {
      for (const [k, v] of Object.entries(value as object)) checkValue(entry.fields.get('value')!, v, `${at}[${k}]`, problems);
      return;
    }
    checkMessage(field.typeName, value, at, problems);
  } else if (field.kind === 'enum') {
    if (!s.enumType(field.typeName)?.names.has(value as string)) problems.push(`${at}: ${String(value)} is not a value of ${field.typeName}`);
  } else if (!SCALARS[field.kind]!(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} is not a ${field.kind}`);
  }
}

function checkMessage(typeName: string, value: unknown, at: string, problems: string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${at}: expected an object of ${typeName}`);
    return;
  }
  let name = typeName;
  const record = value as Record<string, unknown>;
  if (typeName === 'google.protobuf.Any') {
    const type = record['@type'];
    if (typeof type !== 'string') {
      problems.push(`${at}: Any without '@type'`);
      return;
    }
    name = type.slice(type.lastIndexOf('/') + 1);
  }
  const message = load().message(name);
  if (message === undefined) {
    problems.push(`${at}: message ${name} is not loaded`);
    return;
  }
  for (const [key, fieldValue] of Object.entries(record)) {
    if (key === '@type' && typeName === 'google.protobuf.Any') continue;
    const field = message.fields.get(key);
    if (field === undefined) {
      problems.push(`${at}.${key}: no such field in ${name}`);
      continue;
    }
    if (field.repeated && !load().message(field.typeName)?.mapEntry) {
      if (!Array.isArray(fieldValue)) problems.push(`${at}.${key}: expected an array`);
      else fieldValue.forEach((item, i) => checkValue(field, item, `${at}.${key}[${i}]`, problems));
    } else {
      checkValue(field, fieldValue, `${at}.${key}`, problems);
    }
  }
}

/** Every problem of resource as a message of typeName (empty when it fits the protos). */
export function schemaProblems(typeName: string, resource: object): string[] {
  const problems: string[] = [];
  checkMessage(typeName, resource, typeName.slice(typeName.lastIndexOf('.') + 1), problems);
  return problems;
}
