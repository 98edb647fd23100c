// A request's attributes (Istio's vocabulary), each computed on first read
// and only when asked: the filter asks only for the names its config lists
// (check_attributes, report_attributes) and the ones a cached answer
// referenced. Static attributes (mixer_attributes: destination.service.*,
// destination.labels, context.reporter.kind, ...) come from the config. Value
// forms are src/policy/attribute-value.ts's; `wireOf` gives the Check/Report
// form, typed by the table below (a number alone does not say INT64 or DURATION).
import type { StaticAttribute, WireAttributeValue } from '../../../src/config/mixer-filter-config.js';
import type { AttributeBag, AttributeValue, StringMap } from '../../../src/policy/attribute-value.js';
import { ValueType } from '../../../src/policy/attribute-value.js';
import { principalOf, spiffePart } from '../../../src/policy/spiffe-principal.js';

/** What the bag reads of the request (ActiveRequest provides all of it). */
export interface AttributeSource {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly authority: string;
  /** Flat [name0, value0, ...], names lowercase. */
  readonly headers: readonly string[];
  readonly requestId: string;
  readonly scheme: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly responseCode: number;
  /** performance.now() when the request began. */
  readonly startMark: number;
  readonly conn: {
    readonly remoteAddress: string;
    readonly remotePort: number;
    /** The peer certificate's first URI SAN ('' without mTLS). */
    readonly peerUriSan: string;
    readonly tlsVersion: string;
  };
}

/** Per listener: what the bag cannot learn from the request. */
export interface ListenerAttributes {
  readonly statics: ReadonlyMap<string, StaticAttribute>;
  readonly destinationIp: string;
  readonly destinationPort: number;
}

type Compute = (bag: RequestAttributeBag) => AttributeValue | undefined;
/** [type, compute, memoized]: only values that allocate or scan are memoized (a memo is a Map per request). */
type Computed = readonly [ValueType, Compute, boolean];
const MEMO = true;
const FIELD = false;

/** The attributes the proxy computes per request, with their types. */
const COMPUTED: ReadonlyMap<string, Computed> = new Map<string, Computed>([
  ['source.ip', [ValueType.IP_ADDRESS, (b) => plainIp(b.src.conn.remoteAddress), MEMO]],
  ['source.port', [ValueType.INT64, (b) => b.src.conn.remotePort, FIELD]],
  ['source.principal', [ValueType.STRING, (b) => principalOf(b.src.conn.peerUriSan), MEMO]],
  ['source.user', [ValueType.STRING, (b) => principalOf(b.src.conn.peerUriSan), MEMO]],
  ['source.namespace', [ValueType.STRING, (b) => spiffePart(b.src.conn.peerUriSan, 'ns'), MEMO]],
  ['source.workload.namespace', [ValueType.STRING, (b) => spiffePart(b.src.conn.peerUriSan, 'ns'), MEMO]],
  ['source.serviceaccount', [ValueType.STRING, (b) => spiffePart(b.src.conn.peerUriSan, 'sa'), MEMO]],
  ['connection.mtls', [ValueType.BOOL, (b) => b.src.conn.peerUriSan !== '', FIELD]],
  ['destination.ip', [ValueType.IP_ADDRESS, (b) => b.listener.destinationIp, FIELD]],
  ['destination.port', [ValueType.INT64, (b) => b.listener.destinationPort, FIELD]],
  ['request.path', [ValueType.STRING, (b) => (b.src.query === '' ? b.src.path : `${b.src.path}?${b.src.query}`), MEMO]],
  ['request.url_path', [ValueType.STRING, (b) => b.src.path, FIELD]],
  ['request.host', [ValueType.STRING, (b) => b.src.authority, FIELD]],
  ['request.method', [ValueType.STRING, (b) => b.src.method, FIELD]],
  ['request.scheme', [ValueType.STRING, (b) => b.src.scheme, FIELD]],
  ['request.headers', [ValueType.STRING_MAP, (b) => headerMap(b.src.headers, b.src.authority), MEMO]],
  ['request.useragent', [ValueType.STRING, (b) => header(b.src.headers, 'user-agent'), MEMO]],
  ['request.referer', [ValueType.STRING, (b) => header(b.src.headers, 'referer'), MEMO]],
  ['request.id', [ValueType.STRING, (b) => (b.src.requestId === '' ? header(b.src.headers, 'x-request-id') : b.src.requestId), MEMO]],
  // Before the body is read (Check) this is the Content-Length the client declared; at Report, the bytes received.
  ['request.size', [ValueType.INT64, (b) => (b.responded ? b.src.bytesReceived : Number(header(b.src.headers, 'content-length') ?? 0) || 0), MEMO]],
  ['request.total_size', [ValueType.INT64, (b) => b.src.bytesReceived, FIELD]],
  ['request.time', [ValueType.TIMESTAMP, (b) => b.requestTime, MEMO]],
  ['response.code', [ValueType.INT64, (b) => (b.responded ? b.src.responseCode : undefined), FIELD]],
  ['response.size', [ValueType.INT64, (b) => (b.responded ? b.src.bytesSent : undefined), FIELD]],
  ['response.total_size', [ValueType.INT64, (b) => (b.responded ? b.src.bytesSent : undefined), FIELD]],
  ['response.duration', [ValueType.DURATION, (b) => (b.responded ? performance.now() - b.src.startMark : undefined), FIELD]],
  ['response.time', [ValueType.TIMESTAMP, (b) => (b.responded ? Date.now() : undefined), FIELD]],
  ['response.headers', [ValueType.STRING_MAP, (b) => b.responseHeaders ?? undefined, FIELD]],
  ['context.protocol', [ValueType.STRING, (b) => (isGrpc(header(b.src.headers, 'content-type')) ? 'grpc' : 'http'), MEMO]],
  ['context.time', [ValueType.TIMESTAMP, () => Date.now(), MEMO]],
]);

/**
 * The computed attributes read from the request's header block, which the request releases when it finishes
 * (before its filters' onDestroy): a Report reads them at the head (memoized) or they are gone.
 */
const FROM_HEAD: ReadonlySet<string> = new Set(['request.headers', 'request.useragent', 'request.referer', 'request.id', 'context.protocol']);

/** takes attribute names; returns those read from the header block (see FROM_HEAD). */
export function headAttributes(names: readonly string[]): readonly string[] {
  return names.filter((n) => FROM_HEAD.has(n));
}

/** takes an attribute name; returns the type the proxy computes it as (undefined: it never produces that name). */
export function computedType(name: string): ValueType | undefined {
  return COMPUTED.get(name)?.[0];
}

/** Whether the proxy knows how to compute `name` (for warnings about names it never produces). */
export function isComputedAttribute(name: string): boolean {
  return COMPUTED.has(name);
}

export class RequestAttributeBag implements AttributeBag {
  /** Set once the response head is known: response.* read from then on. */
  responded = false;
  responseHeaders: StringMap | null = null;
  /** Made on the first computed read: a cache hit on static or cheap attributes allocates no map. */
  private memo: Map<string, AttributeValue | undefined> | null = null;

  constructor(
    readonly src: AttributeSource,
    readonly listener: ListenerAttributes,
  ) {}

  get(name: string): AttributeValue | undefined {
    const fixed = this.listener.statics.get(name);
    if (fixed !== undefined) return fixed.value;
    const memo = this.memo;
    if (memo !== null && memo.has(name)) return memo.get(name);
    const entry = COMPUTED.get(name);
    const value = entry === undefined ? undefined : entry[1](this);
    // response.* may be asked before the response (absent then) and again at Report; a field read is cheaper than a memo.
    if (entry !== undefined && entry[2]) (this.memo ??= new Map()).set(name, value);
    return value;
  }

  /** When the request began, in ms since the epoch (from its monotonic start mark: no clock read per request). */
  get requestTime(): number {
    return Date.now() - (performance.now() - this.src.startMark);
  }

  /** The Check/Report form of `name`'s value; undefined when absent. */
  wireOf(name: string): WireAttributeValue | undefined {
    const fixed = this.listener.statics.get(name);
    if (fixed !== undefined) return fixed.wire;
    const value = this.get(name);
    if (value === undefined) return undefined;
    const type = COMPUTED.get(name)?.[0] ?? ValueType.STRING;
    return toWire(type, value);
  }

  /** Attributes `names` (those present) in wire form. */
  wireAttributes(names: readonly string[]): Record<string, WireAttributeValue> {
    const out: Record<string, WireAttributeValue> = {};
    for (let i = 0; i < names.length; i++) {
      const w = this.wireOf(names[i]!);
      if (w !== undefined) out[names[i]!] = w;
    }
    return out;
  }
}

function toWire(type: ValueType, value: AttributeValue): WireAttributeValue {
  switch (type) {
    case ValueType.INT64:
      return { int64_value: Math.trunc(value as number) };
    case ValueType.DOUBLE:
      return { double_value: value as number };
    case ValueType.BOOL:
      return { bool_value: value as boolean };
    case ValueType.TIMESTAMP:
      return { timestamp_value: parts(value as number) };
    case ValueType.DURATION:
      return { duration_value: parts(value as number) };
    case ValueType.STRING_MAP:
      return { string_map_value: { entries: value as StringMap } };
    case ValueType.BYTES:
      return { bytes_value: value as Uint8Array };
    default:
      return { string_value: String(value) };
  }
}

function parts(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

function plainIp(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function header(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** Lowercase names; repeated headers joined with ',' (Envoy's header map view); :authority as host. */
function headerMap(headers: readonly string[], authority: string): StringMap {
  const out = Object.create(null) as Record<string, string>;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const prev = out[name];
    out[name] = prev === undefined ? headers[i + 1]! : `${prev},${headers[i + 1]!}`;
  }
  if (out.host === undefined && authority !== '') out.host = authority;
  return out;
}

function isGrpc(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.toLowerCase().startsWith('application/grpc');
}
