// What both ADS protocols share per stream: the node identity taken from the
// first request, the watch on that node's snapshot, per-type bookkeeping
// (sent/acked version, NACK message, nonce), callbacks that can never break
// the stream, and one place where a malformed request becomes a gRPC error
// status on that stream only.
import type { Locality } from '../../src/xds/locality.js';
import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from '../../src/log.js';
import type { SnapshotCache } from './snapshot-cache.js';
import type { Snapshot } from './snapshot.js';
import { stringField, lengthDelimitedField } from './proto-writer.js';
import { PUSH_ORDER } from './protos.js';

export interface NodeIdentity {
  readonly id: string;
  readonly cluster: string;
  /** The node's metadata Struct as plain JSON. */
  readonly metadata: Record<string, unknown>;
  /** node.locality, when the proxy sent one (peer input: strings, possibly empty). */
  readonly locality?: Locality;
}

export interface AdsCallbacks {
  onStreamOpen?(node: NodeIdentity, streamId: number): void;
  onStreamClosed?(node: NodeIdentity, streamId: number): void;
  onAck?(node: NodeIdentity, typeUrl: string, version: string): void;
  onNack?(node: NodeIdentity, typeUrl: string, version: string, message: string): void;
}

export interface TypeStatus {
  readonly typeUrl: string;
  /** Version last sent (SotW version_info / delta system_version_info); null before the first response. */
  readonly sentVersion: string | null;
  /** Version the proxy last ACKed (or announced on connect); null when none. */
  readonly ackedVersion: string | null;
  /** error_detail.message of the last NACK, cleared by the next ACK. */
  readonly nackMessage: string | null;
  readonly nonce: string | null;
  /** '*' for a wildcard subscription, else the names subscribed. */
  readonly subscribed: '*' | readonly string[];
  /** A push of this type waits for the stream to drain (only the latest version will be sent). */
  readonly deferred: boolean;
}

/** What a stream has handed to gRPC that the proxy has not yet taken (HTTP/2 flow control holds it). */
export interface StreamBacklog {
  readonly messages: number;
  readonly bytes: number;
  /** Whether the stream's write buffer is full: pushes wait, coalesced per type, for 'drain'. */
  readonly blocked: boolean;
}

export interface StreamStatus {
  readonly streamId: number;
  readonly protocol: 'sotw' | 'delta';
  readonly peer: string;
  readonly connectedAt: string;
  readonly node: NodeIdentity;
  readonly types: readonly TypeStatus[];
  readonly backlog: StreamBacklog;
}

/** Per-stream limits on what a proxy may make the control plane hold. */
export interface AdsStreamSettings {
  /** Names one stream may subscribe to (or announce in initial_resource_versions) per type. */
  readonly maxResourceNamesPerType: number;
  /**
   * Characters those names may add up to per type. A delta stream's subscriptions grow request by request (SotW
   * replaces its list, so one request bounds it): without this, 10000 names of up to 4 MiB, one per request, were 40 GB.
   */
  readonly maxResourceNameCharsPerType: number;
  /** Checks who opens the stream (control/ca/xds-stream-identity.ts); every stream is served when absent. */
  readonly authenticate?: StreamAuthenticator;
}

/** Istiod and Envoy have no such knob; 10k names per type is far above any real sidecar's need. */
export const DEFAULT_STREAM_SETTINGS: AdsStreamSettings = Object.freeze({ maxResourceNamesPerType: 10_000, maxResourceNameCharsPerType: 4 * 1024 * 1024 });

/** Per stream and type; subclasses add their own fields. */
export interface TypeState {
  sentVersion: string | null;
  ackedVersion: string | null;
  nackMessage: string | null;
  nonce: string | null;
  wildcard: boolean;
  names: Set<string>;
}

/** What the server keeps of a stream: something that reports its status. */
export interface StatusSource {
  status(): StreamStatus | undefined;
}

/** Tells malformed input (answered with INVALID_ARGUMENT) from our own bugs. */
export class BadRequest extends Error {}

/** A stream its authenticator turns away: ends with this gRPC status and message. */
export class StreamRefused extends Error {
  constructor(readonly code: GrpcStatus, message: string) {
    super(message);
  }
}

/**
 * takes a value a peer claimed; returns it quoted for a refusal's message, cut to 64 characters: the message goes
 * back as grpc-message (a client cannot take a 200 KB trailer: it never sees the status) and into the log.
 */
export function quotedClaim(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= 66 ? text : `${text.slice(0, 64)}"...`;
}

/**
 * The longest node.id a stream may name. Istio's layout (`sidecar~IP~POD.NS~NS.svc.cluster.local`) stays under
 * 400; the id goes into every log line about the proxy (twice in a NACK's), so a 3 MB id turned each ~100-byte
 * request that draws a response and its NACK into 6 MB of log, held in memory while fd 1's reader lags.
 */
export const MAX_NODE_ID_CHARS = 1024;

/** Characters of a NACK's error_detail.message kept (status, callbacks, log); Envoy's name the rejected resources and why. */
export const MAX_NACK_MESSAGE_CHARS = 4096;

/**
 * takes a NACK's error_detail; returns its message, cut to MAX_NACK_MESSAGE_CHARS with the length it had. A peer's
 * message of up to a whole request (4 MiB) was logged twice per NACK (field and text), JSON-escaped: up to 12 times
 * its size of log per request, buffered in memory while fd 1's reader lags.
 */
export function nackMessage(detail: { message?: unknown }): string {
  const message = typeof detail.message === 'string' ? detail.message : '';
  return message.length <= MAX_NACK_MESSAGE_CHARS ? message : `${message.slice(0, MAX_NACK_MESSAGE_CHARS)}... (${message.length} characters)`;
}

/** The metadata key where the ADS server notes the port kind a call came in on: `tls` or `plaintext` (ads-server.ts). */
export const TRANSPORT_METADATA = 'x-isthmus-transport';

/** The call as an authenticator sees it: its metadata (with TRANSPORT_METADATA) and peer. */
export type StreamCall = Pick<ServerDuplexStream<unknown, Buffer>, 'metadata' | 'getPeer'>;

/** Runs on a stream's first request: returns the node to serve or throws StreamRefused. */
export type StreamAuthenticator = (node: NodeIdentity, call: StreamCall) => NodeIdentity;

/** A request within the protocol that asks for more than a stream may hold (answered with RESOURCE_EXHAUSTED). */
export class LimitExceeded extends BadRequest {}

/** ControlPlane{identifier: "isthmus"} as a response field, shared by every response. */
export function controlPlaneField(fieldNumber: number): Buffer {
  return lengthDelimitedField(fieldNumber, stringField(1, 'isthmus'));
}

export abstract class AdsStream<Request, State extends TypeState> implements StatusSource {
  node: NodeIdentity | undefined;
  protected readonly types = new Map<string, State>();
  private nonceCounter = 0;
  private unwatch: (() => void) | undefined;
  private closed = false;
  private readonly connectedAt = new Date().toISOString();
  /** Set when call.write() returned false; cleared on 'drain'. */
  private blocked = false;
  /** Types with a push waiting for 'drain'; each sends the then-latest snapshot, so a slow proxy costs one message per type. */
  private readonly deferred = new Set<string>();
  private backlogMessages = 0;
  private backlogBytes = 0;
  private readonly written = (): void => this.onWritten();
  /** Sizes of the messages gRPC has not yet taken, oldest first (at most its buffer plus one). */
  private readonly writtenSizes: number[] = [];

  constructor(
    readonly streamId: number,
    readonly protocol: 'sotw' | 'delta',
    protected readonly call: ServerDuplexStream<Request, Buffer>,
    protected readonly cache: SnapshotCache,
    protected readonly callbacks: AdsCallbacks,
    protected readonly log: Logger,
    private readonly onClose: (stream: StatusSource) => void,
    protected readonly settings: AdsStreamSettings = DEFAULT_STREAM_SETTINGS,
  ) {
    call.on('data', (request: Request) => this.receive(request));
    call.on('drain', () => this.drained());
    call.on('end', () => this.close(true));
    call.on('error', () => this.close(false)); // client cancelled or the connection broke
    call.on('close', () => this.close(false));
  }

  /** Handles one request of a known node. Throws BadRequest for malformed input. */
  protected abstract handleRequest(request: Request, node: NodeIdentity): void;
  /** Pushes what changed in the node's new snapshot. */
  protected abstract onSnapshot(snapshot: Snapshot): void;
  protected abstract requestNode(request: Request): unknown;
  /** Sends the latest snapshot's content of a type whose push was deferred while the stream was blocked. */
  protected abstract pushDeferred(typeUrl: string, state: State, snapshot: Snapshot): void;

  status(): StreamStatus | undefined {
    if (this.node === undefined) return undefined;
    const types: TypeStatus[] = [];
    for (const [typeUrl, state] of this.types) {
      types.push({
        typeUrl,
        sentVersion: state.sentVersion,
        ackedVersion: state.ackedVersion,
        nackMessage: state.nackMessage,
        nonce: state.nonce,
        subscribed: state.wildcard ? '*' : [...state.names],
        deferred: this.deferred.has(typeUrl),
      });
    }
    const backlog = { messages: this.backlogMessages, bytes: this.backlogBytes, blocked: this.blocked };
    return { streamId: this.streamId, protocol: this.protocol, peer: this.call.getPeer(), connectedAt: this.connectedAt, node: this.node, types, backlog };
  }

  /**
   * True when a push of this type must wait: the stream's write buffer is full (the proxy is not reading). The type
   * is remembered once; on 'drain' it is pushed from the snapshot current then, so versions in between coalesce.
   */
  protected deferIfBlocked(typeUrl: string): boolean {
    if (!this.blocked) return false;
    this.deferred.add(typeUrl);
    return true;
  }

  protected nextNonce(): string {
    this.nonceCounter++;
    return String(this.nonceCounter);
  }

  protected send(message: Buffer): void {
    if (this.closed) return;
    this.backlogMessages++;
    this.backlogBytes += message.length;
    this.writtenSizes.push(message.length);
    // false: the buffer is full (this message is queued; no more until 'drain').
    if (!this.call.write(message, this.written)) this.blocked = true;
  }

  /** gRPC took one message (in order): it is no longer ours to hold. */
  private onWritten(): void {
    const size = this.writtenSizes.shift() ?? 0;
    this.backlogMessages = Math.max(0, this.backlogMessages - 1);
    this.backlogBytes = Math.max(0, this.backlogBytes - size);
  }

  private drained(): void {
    this.blocked = false;
    if (this.closed || this.node === undefined || this.deferred.size === 0) return;
    const snapshot = this.cache.getSnapshot(this.node.id);
    const types = [...this.deferred];
    this.deferred.clear();
    if (snapshot === undefined) return;
    try {
      for (const typeUrl of PUSH_ORDER) {
        const state = this.types.get(typeUrl);
        if (state === undefined || !types.includes(typeUrl)) continue;
        // A write that fills the buffer again defers the remaining types to the next 'drain'.
        if (!this.deferIfBlocked(typeUrl)) this.pushDeferred(typeUrl, state, snapshot);
      }
    } catch (error) {
      this.log.error({ err: error, streamId: this.streamId, node: this.node?.id }, 'xDS push failed');
      this.fail(GrpcStatus.INTERNAL, 'internal error');
    }
  }

  protected notify(event: 'onAck' | 'onNack', typeUrl: string, version: string, message = ''): void {
    const callback = this.callbacks[event];
    if (callback === undefined || this.node === undefined) return;
    try {
      callback.call(this.callbacks, this.node, typeUrl, version, message);
    } catch (error) {
      this.log.error({ err: error, event }, 'xds callback threw');
    }
  }

  private receive(request: Request): void {
    if (this.closed) return;
    try {
      if (this.node === undefined) this.open(request);
      this.handleRequest(request, this.node!);
    } catch (error) {
      if (error instanceof StreamRefused) {
        this.log.warn({ streamId: this.streamId, peer: this.call.getPeer(), refused: error.message }, 'xDS stream refused');
        this.fail(error.code, error.message);
        return;
      }
      const bad = error instanceof BadRequest;
      const limit = error instanceof LimitExceeded;
      this.log.warn({ err: error, streamId: this.streamId, node: this.node?.id }, limit ? 'xDS request over a stream limit' : bad ? 'malformed xDS request' : 'xDS stream failed');
      const code = limit ? GrpcStatus.RESOURCE_EXHAUSTED : bad ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.INTERNAL;
      this.fail(code, bad ? (error as Error).message : 'internal error');
    }
  }

  private open(request: Request): void {
    const node = this.requestNode(request) as { id?: unknown; cluster?: unknown; metadata?: unknown; locality?: unknown } | undefined;
    if (node === undefined || node === null || typeof node.id !== 'string' || node.id === '') {
      throw new BadRequest('the first request of a stream must carry node.id');
    }
    if (node.id.length > MAX_NODE_ID_CHARS) throw new BadRequest(`node.id is ${node.id.length} characters; at most ${MAX_NODE_ID_CHARS} are accepted`);
    const claimed: NodeIdentity = Object.freeze({
      id: node.id,
      cluster: typeof node.cluster === 'string' ? node.cluster : '',
      metadata: structToJson(node.metadata),
      ...nodeLocality(node.locality),
    });
    // Before the node is known to anyone: a refused stream is never watched, registered or counted.
    this.node = this.settings.authenticate === undefined ? claimed : this.settings.authenticate(claimed, this.call as unknown as StreamCall);
    this.unwatch = this.cache.watch(node.id, (snapshot) => {
      try {
        this.onSnapshot(snapshot);
      } catch (error) {
        this.log.error({ err: error, streamId: this.streamId, node: this.node?.id }, 'xDS push failed');
        this.fail(GrpcStatus.INTERNAL, 'internal error');
      }
    });
    try {
      this.callbacks.onStreamOpen?.(this.node, this.streamId);
    } catch (error) {
      this.log.error({ err: error }, 'xds onStreamOpen threw');
    }
  }

  private fail(code: GrpcStatus, details: string): void {
    if (this.closed) return;
    this.call.emit('error', { code, details });
    this.close(false);
  }

  private close(endCall: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.deferred.clear();
    this.unwatch?.();
    if (endCall) this.call.end();
    if (this.node !== undefined) {
      try {
        this.callbacks.onStreamClosed?.(this.node, this.streamId);
      } catch (error) {
        this.log.error({ err: error }, 'xds onStreamClosed threw');
      }
    }
    this.onClose(this);
  }
}

/**
 * google.protobuf.Struct as proto-loader decodes it → plain JSON. The
 * well-known types come from protobufjs's bundled definitions, whose Value
 * fields are camelCase (stringValue) even with keepCase.
 */
export function structToJson(struct: unknown): Record<string, unknown> {
  return structFields(struct, 0, { left: MAX_METADATA_VALUES });
}

/**
 * Values (struct fields and list items, at any depth) a node's metadata may have. The stream keeps its metadata for
 * its life (the dashboard reads ADMIN_PORT and VERSION from it), and a small value costs ~200 bytes as a JS object
 * entry against ~15 on the wire: 150,000 keys in a 2 MB request held ~32 MB per stream. Istio's sidecars send tens
 * of keys, plus labels and annotations.
 */
export const MAX_METADATA_VALUES = 10_000;

function structFields(struct: unknown, depth: number, budget: { left: number }): Record<string, unknown> {
  const fields = (struct as { fields?: Record<string, unknown> } | undefined)?.fields;
  const out: Record<string, unknown> = {};
  if (fields === undefined || fields === null || typeof fields !== 'object') return out;
  for (const key of Object.keys(fields)) out[key] = valueToJson(fields[key], depth, budget); // own keys: a `__proto__` entry is no field
  return out;
}

function valueToJson(value: unknown, depth: number, budget: { left: number }): unknown {
  if (--budget.left < 0) throw new BadRequest(`node.metadata has more than ${MAX_METADATA_VALUES} values (fields and list items)`);
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  const v = value as Record<string, unknown>;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.numberValue !== undefined) return v.numberValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.structValue !== undefined) return structFields(v.structValue, depth + 1, budget);
  const list = (v.listValue as { values?: unknown[] } | undefined)?.values;
  if (Array.isArray(list)) return list.map((item) => valueToJson(item, depth + 1, budget));
  return null;
}

/** core.v3.Locality (keepCase: sub_zone) as plain strings; absent when the node sent none or an empty one. */
function nodeLocality(value: unknown): Pick<NodeIdentity, 'locality'> {
  if (typeof value !== 'object' || value === null) return {};
  const v = value as { region?: unknown; zone?: unknown; sub_zone?: unknown };
  const text = (x: unknown): string => (typeof x === 'string' ? x.slice(0, 128) : '');
  const locality = { region: text(v.region), zone: text(v.zone), subZone: text(v.sub_zone) };
  return locality.region === '' && locality.zone === '' && locality.subZone === '' ? {} : { locality };
}
