// Envoy's ext_authz AttributeContext (envoy.service.auth.v3) in Istio's
// attribute vocabulary, so the same rules answer a real Envoy's ext_authz
// Check and Isthmus's Mixer Check alike. Only what the context carries is
// set; everything else is absent, as it would be in a proxy's Check.
import type { AttributeValue, StringMap } from '../../src/policy/attribute-value.js';
import { MapAttributeBag } from './attribute-message.js';

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
  request?: { time?: { seconds?: number | string; nanos?: number }; http?: HttpRequestMessage };
}

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
  if (nonEmpty(p.principal)) values.set(`${prefix}.principal`, p.principal);
  if (p.labels !== undefined && p.labels !== null && Object.keys(p.labels).length > 0) values.set(`${prefix}.labels`, stringMap(p.labels, false));
}

/** takes an ext_authz AttributeContext; returns the attribute bag a Mixer Check for the same request would carry. */
export function attributesFromContext(context: AttributeContextMessage | undefined | null): MapAttributeBag {
  const values = new Map<string, AttributeValue>();
  if (context === undefined || context === null) return new MapAttributeBag(values);
  peer(values, 'source', context.source);
  peer(values, 'destination', context.destination);
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
