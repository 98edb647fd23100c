// Envoy's ext_authz AttributeContext (envoy.service.auth.v3) in Istio's
// attribute vocabulary, so the same rules answer a real Envoy's ext_authz
// Check and Isthmus's Mixer Check alike. Only what the context carries is
// set; everything else is absent, as it would be in a proxy's Check.
//
// Identity is read as the sidecar's Mixer filter reads it (one helper,
// src/policy/spiffe-principal.ts): the peer's SPIFFE ID gives
// source.principal without `spiffe://`, source.namespace and
// source.serviceaccount. The destination service is what a Mixer filter has
// as static attributes (control/translate/mixer-filter.ts); Envoy carries
// such per-listener facts in the CheckRequest's `context_extensions`
// (ExtAuthzPerRoute.check_settings), so a `destination.*` string attribute
// named there is taken as that attribute (Isthmus's ext_authz filter sends
// its listener's), and destination.labels come from the destination peer's
// `labels` (Envoy's bootstrap_metadata_labels_key). A client that sends only
// the destination address (a plain Envoy) gets the service and workload of
// the registry's endpoint at that address and port (workload-directory.ts).
import { ValueType, type AttributeValue, type StringMap } from '../../src/policy/attribute-value.js';
import { ATTRIBUTE_VOCABULARY } from '../../src/policy/attribute-vocabulary.js';
import { principalOf, spiffePart } from '../../src/policy/spiffe-principal.js';
import { MapAttributeBag } from './attribute-message.js';
import type { WorkloadDirectory } from './workload-directory.js';

interface SocketAddress {
  address?: string;
  port_value?: number;
}

interface PeerMessage {
  address?: { socket_address?: SocketAddress };
  principal?: string;
  labels?: Record<string, string>;
  service?: string;
}

interface HttpRequestMessage {
  id?: string;
  method?: string;
  headers?: Record<string, string>;
  path?: string;
  host?: string;
  scheme?: string;
  size?: number | string;
  protocol?: string;
}

export interface AttributeContextMessage {
  source?: PeerMessage;
  destination?: PeerMessage;
  context_extensions?: Record<string, string>;
  request?: { time?: { seconds?: number | string; nanos?: number }; http?: HttpRequestMessage };
}

/** Bounds what context_extensions can add (a listener has a handful of destination statics). */
const MAX_EXTENSIONS = 64;
const MAX_EXTENSION_LENGTH = 1024;

const nonEmpty = (s: string | undefined): s is string => typeof s === 'string' && s.length > 0;

function stringMap(raw: Record<string, string> | undefined, lowercase: boolean): StringMap {
  const map: Record<string, string> = Object.create(null);
  if (raw !== undefined && raw !== null) {
    for (const key of Object.keys(raw)) {
      const value = raw[key];
      if (typeof value === 'string') map[lowercase ? key.toLowerCase() : key] = value;
    }
  }
  return map;
}

function peer(values: Map<string, AttributeValue>, prefix: 'source' | 'destination', p: PeerMessage | undefined): void {
  if (p === undefined || p === null) return;
  const socket = p.address?.socket_address;
  if (nonEmpty(socket?.address)) values.set(`${prefix}.ip`, socket.address);
  if (typeof socket?.port_value === 'number' && socket.port_value > 0) values.set(`${prefix}.port`, socket.port_value);
  if (nonEmpty(p.principal)) {
    values.set(`${prefix}.principal`, principalOf(p.principal)!);
    const namespace = spiffePart(p.principal, 'ns');
    if (prefix === 'source') {
      values.set('source.user', principalOf(p.principal)!);
      if (namespace !== undefined) {
        values.set('source.namespace', namespace);
        values.set('source.workload.namespace', namespace);
      }
      const account = spiffePart(p.principal, 'sa');
      if (account !== undefined) values.set('source.serviceaccount', account);
    } else if (namespace !== undefined) values.set('destination.namespace', namespace);
  }
  if (p.labels !== undefined && p.labels !== null && Object.keys(p.labels).length > 0) values.set(`${prefix}.labels`, stringMap(p.labels, false));
}

/** context_extensions naming `destination.*` string attributes, as those attributes (bounded; other keys are the route's own). */
function extensions(values: Map<string, AttributeValue>, raw: Record<string, string> | undefined): void {
  if (raw === undefined || raw === null || typeof raw !== 'object') return;
  let seen = 0;
  for (const key of Object.keys(raw)) {
    if (++seen > MAX_EXTENSIONS) return;
    const value = raw[key];
    if (!key.startsWith('destination.') || ATTRIBUTE_VOCABULARY.get(key) !== ValueType.STRING) continue;
    if (typeof value === 'string' && value.length > 0 && value.length <= MAX_EXTENSION_LENGTH) values.set(key, value);
  }
}

/** A client that named only the destination's address (a plain Envoy): the endpoint's service and workload from the registry, where not given. */
function fromRegistry(values: Map<string, AttributeValue>, directory: WorkloadDirectory): void {
  const ip = values.get('destination.ip');
  const port = values.get('destination.port');
  if (values.has('destination.service.host') || typeof ip !== 'string' || typeof port !== 'number') return;
  const facts = directory.destination(ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip, port);
  for (const name of Object.keys(facts)) if (!values.has(name)) values.set(name, facts[name]!);
}

/** takes an ext_authz AttributeContext; returns the attribute bag a Mixer Check for the same request would carry. */
export function attributesFromContext(context: AttributeContextMessage | undefined | null, directory: WorkloadDirectory | null = null): MapAttributeBag {
  const values = new Map<string, AttributeValue>();
  if (context === undefined || context === null) return new MapAttributeBag(values);
  peer(values, 'source', context.source);
  peer(values, 'destination', context.destination);
  extensions(values, context.context_extensions);
  if (directory !== null) fromRegistry(values, directory);
  values.set('connection.mtls', nonEmpty(context.source?.principal));
  values.set('context.reporter.kind', 'inbound');
  const time = context.request?.time;
  if (time !== undefined && time !== null) values.set('request.time', Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6));
  const http = context.request?.http;
  if (http === undefined || http === null) return new MapAttributeBag(values);
  const headers = stringMap(http.headers, true);
  values.set('request.headers', headers);
  if (nonEmpty(http.method)) values.set('request.method', http.method);
  if (nonEmpty(http.path)) {
    values.set('request.path', http.path);
    const q = http.path.indexOf('?');
    values.set('request.url_path', q < 0 ? http.path : http.path.slice(0, q));
  }
  if (nonEmpty(http.host)) values.set('request.host', http.host);
  if (nonEmpty(http.scheme)) values.set('request.scheme', http.scheme);
  if (nonEmpty(http.id)) values.set('request.id', http.id);
  const size = Number(http.size ?? -1);
  if (Number.isFinite(size) && size >= 0) values.set('request.size', size);
  const agent = headers['user-agent'];
  if (agent !== undefined) values.set('request.useragent', agent);
  values.set('context.protocol', (headers['content-type'] ?? '').startsWith('application/grpc') ? 'grpc' : 'http');
  return new MapAttributeBag(values);
}
