// One Zipkin v2 span (https://zipkin.io/zipkin-api/#/default/post_spans) read
// from what a reporter posted: Envoy's zipkin tracer with
// collector_endpoint_version HTTP_JSON, Brave, zipkin-js, OpenTelemetry's
// Zipkin exporter. Peer input: every field is checked and cut to a bound, and
// a span that is not usable is refused with the reason (never thrown).

/** How much of a span is kept; longer strings are cut, extra tags and annotations dropped. */
export interface SpanLimits {
  readonly maxNameChars: number;
  readonly maxTagCount: number;
  readonly maxTagKeyChars: number;
  readonly maxTagValueChars: number;
  readonly maxAnnotations: number;
}

export const DEFAULT_SPAN_LIMITS: SpanLimits = Object.freeze({
  maxNameChars: 128, maxTagCount: 32, maxTagKeyChars: 128, maxTagValueChars: 512, maxAnnotations: 16,
});

export type SpanKind = 'CLIENT' | 'SERVER' | 'PRODUCER' | 'CONSUMER';
const KINDS: ReadonlySet<string> = new Set(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']);

export interface Endpoint {
  readonly serviceName?: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly port?: number;
}

/** A span as stored and served back (Zipkin v2 JSON field names). */
export interface ZipkinSpan {
  readonly traceId: string;
  readonly id: string;
  readonly parentId?: string;
  readonly name?: string;
  readonly kind?: SpanKind;
  /** Epoch microseconds. */
  readonly timestamp?: number;
  /** Microseconds. */
  readonly duration?: number;
  readonly localEndpoint?: Endpoint;
  readonly remoteEndpoint?: Endpoint;
  readonly tags?: Readonly<Record<string, string>>;
  readonly annotations?: readonly { readonly timestamp: number; readonly value: string }[];
  readonly debug?: boolean;
  readonly shared?: boolean;
}

export type SpanRead = { readonly ok: true; readonly span: ZipkinSpan } | { readonly ok: false; readonly reason: string };

const HEX = /^[0-9a-f]{1,32}$/;

/** Zipkin's id rule: lower-hex, 16 or 32 characters (shorter ones are left-padded, as Zipkin does). */
function hexId(value: unknown, max: 16 | 32): string | undefined {
  if (typeof value !== 'string') return undefined;
  const lower = value.toLowerCase();
  if (!HEX.test(lower) || lower.length > max) return undefined;
  return lower.length <= 16 ? lower.padStart(16, '0') : lower.padStart(32, '0');
}

function cut(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length <= max ? value : value.slice(0, max);
}

function micros(value: unknown): number | undefined {
  // Envoy's JSON carries int64 fields as numbers; some reporters send them as strings.
  const n = typeof value === 'string' && /^\d{1,17}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function endpoint(value: unknown, limits: SpanLimits): Endpoint | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const serviceName = cut(v.serviceName, limits.maxNameChars)?.toLowerCase();
  const ipv4 = cut(v.ipv4, 15);
  const ipv6 = cut(v.ipv6, 45);
  const port = typeof v.port === 'number' && Number.isInteger(v.port) && v.port >= 0 && v.port <= 65535 ? v.port : undefined;
  return {
    ...(serviceName !== undefined && serviceName !== '' ? { serviceName } : {}),
    ...(ipv4 !== undefined ? { ipv4 } : {}),
    ...(ipv6 !== undefined ? { ipv6 } : {}),
    ...(port !== undefined ? { port } : {}),
  };
}

function tags(value: unknown, limits: SpanLimits): Record<string, string> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const key in value) {
    if (n >= limits.maxTagCount) break;
    const raw = (value as Record<string, unknown>)[key];
    const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : undefined;
    if (text === undefined) continue;
    out[key.slice(0, limits.maxTagKeyChars)] = text.slice(0, limits.maxTagValueChars);
    n++;
  }
  return out;
}

function annotations(value: unknown, limits: SpanLimits): { timestamp: number; value: string }[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: { timestamp: number; value: string }[] = [];
  for (const a of value.slice(0, limits.maxAnnotations)) {
    if (typeof a !== 'object' || a === null) continue;
    const timestamp = micros((a as Record<string, unknown>).timestamp);
    const text = cut((a as Record<string, unknown>).value, limits.maxTagValueChars);
    if (timestamp !== undefined && text !== undefined) out.push({ timestamp, value: text });
  }
  return out;
}

/** Takes one element of a posted array; returns the bounded span, or why it was refused. */
export function readZipkinSpan(value: unknown, limits: SpanLimits = DEFAULT_SPAN_LIMITS): SpanRead {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'a span must be a JSON object' };
  const v = value as Record<string, unknown>;
  const traceId = hexId(v.traceId, 32);
  if (traceId === undefined) return { ok: false, reason: 'traceId must be 16 or 32 lower-hex characters' };
  const id = hexId(v.id, 16);
  if (id === undefined) return { ok: false, reason: 'id must be 16 lower-hex characters' };
  let parentId: string | undefined;
  if (v.parentId !== undefined && v.parentId !== null) {
    parentId = hexId(v.parentId, 16);
    if (parentId === undefined) return { ok: false, reason: 'parentId must be 16 lower-hex characters' };
  }
  const kind = typeof v.kind === 'string' && KINDS.has(v.kind) ? (v.kind as SpanKind) : undefined;
  const name = cut(v.name, limits.maxNameChars);
  const timestamp = micros(v.timestamp);
  const duration = micros(v.duration);
  const local = endpoint(v.localEndpoint, limits);
  const remote = endpoint(v.remoteEndpoint, limits);
  const spanTags = tags(v.tags, limits);
  const notes = annotations(v.annotations, limits);
  const span: ZipkinSpan = {
    traceId,
    id,
    ...(parentId !== undefined && parentId !== id ? { parentId } : {}),
    ...(name !== undefined ? { name: name.toLowerCase() } : {}),
    ...(kind !== undefined ? { kind } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    ...(duration !== undefined ? { duration } : {}),
    ...(local !== undefined ? { localEndpoint: local } : {}),
    ...(remote !== undefined ? { remoteEndpoint: remote } : {}),
    ...(spanTags !== undefined && Object.keys(spanTags).length > 0 ? { tags: spanTags } : {}),
    ...(notes !== undefined && notes.length > 0 ? { annotations: notes } : {}),
    ...(v.debug === true ? { debug: true } : {}),
    ...(v.shared === true ? { shared: true } : {}),
  };
  return { ok: true, span };
}
