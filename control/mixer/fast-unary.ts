// A lean server path for the policy services' unary methods (Mixer Check and
// Report, ext_authz Check) on the control plane's @grpc/grpc-js server. A
// unary gRPC call is one HTTP/2 stream: request headers, one message behind
// a 5-byte prefix (compressed flag, big-endian length), then the answer's
// headers, one framed message and trailers with grpc-status. grpc-js spends
// most of a Check's ~80 µs of CPU on its general machinery (interceptor
// chain, metadata objects, channelz bookkeeping, stream decoders, deadline
// timers); here the stream is answered directly with the methods' own
// protobuf codec (proto-loader's serialize/deserialize), and every other path
// (ADS, the CA service, reflection of unknown names) still goes to grpc-js.
//
// How: grpc-js binds `this._streamHandler` (or `_channelzHandler`) to each
// HTTP/2 server it creates in bindAsync; the server object's own handlers are
// wrapped before binding, so both listening ports (plaintext and TLS) get
// the lean path. If grpc-js ever renames them, nothing is wrapped and every
// call keeps going through grpc-js (still correct, only slower): the
// function says so by returning false.
import { constants as h2, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import type { ServiceDefinition } from '@grpc/proto-loader';
import { GRPC, framed } from './native-grpc-call.js';

/** The request bytes a call may carry (grpc-js's default max receive message length). */
export const MAX_FAST_REQUEST = 4 * 1024 * 1024;

/** What a handler may read of its call (the part of grpc-js's ServerUnaryCall the policy services use). */
export interface FastCall<Req> {
  readonly request: Req;
}

export type FastCallback<Res> = (error: { code: number; details: string } | null, value?: Res) => void;

export type FastHandler = (call: FastCall<never>, callback: FastCallback<never>) => void;

interface Method {
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: never) => Buffer;
  readonly handler: FastHandler;
}

type StreamHandler = (this: Server, extraInterceptors: unknown, stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void;
interface ServerInternals {
  _streamHandler?: StreamHandler;
  _channelzHandler?: StreamHandler;
  onStreamOpened?: (stream: ServerHttp2Stream) => void;
}

const registries = new WeakMap<Server, Map<string, Method>>();

/**
 * takes a grpc-js server (before bindAsync), a service definition and handlers for some of its unary methods;
 * returns whether the lean path serves them (false: grpc-js serves them, as registered by the caller).
 */
export function serveUnaryFast(server: Server, definition: ServiceDefinition, handlers: Readonly<Record<string, FastHandler>>): boolean {
  let methods = registries.get(server);
  if (methods === undefined) {
    const internals = server as unknown as ServerInternals;
    if (typeof internals._streamHandler !== 'function' || typeof internals._channelzHandler !== 'function') return false;
    methods = new Map();
    registries.set(server, methods);
    const table = methods;
    const wrap = (original: StreamHandler): StreamHandler => function leanFirst(this: Server, extra, stream, headers) {
      const method = table.get(headers[h2.HTTP2_HEADER_PATH] as string);
      // Interceptors (of the credentials or the server) are grpc-js's to run: such a call keeps its path.
      if (method === undefined || hasItems(extra) || hasItems((this as unknown as { interceptors?: unknown }).interceptors)) {
        original.call(this, extra, stream, headers);
        return;
      }
      internals.onStreamOpened?.call(this, stream); // grpc-js's idle-connection accounting
      new FastUnaryCall(method, stream, headers);
    };
    internals._streamHandler = wrap(internals._streamHandler);
    internals._channelzHandler = wrap(internals._channelzHandler);
  }
  for (const [name, handler] of Object.entries(handlers)) {
    const def = definition[name];
    if (def === undefined || def.requestStream || def.responseStream) throw new Error(`${name} is not a unary method of the service`);
    methods.set(def.path, { deserialize: def.requestDeserialize as (b: Buffer) => unknown, serialize: def.responseSerialize as (v: never) => Buffer, handler });
  }
  return true;
}

/** One unary call on its stream: gathers the framed request, runs the handler, writes the framed answer and trailers. */
class FastUnaryCall {
  // The bytes received so far are buffer[0, received): the first chunk as handed over (a request in one DATA frame
  // is never copied), then one buffer grown by doubling (a request in 1-byte frames costs bytes, not a Buffer each).
  private buffer: Buffer = EMPTY;
  private received = 0;
  /** 5 + the length the prefix declares, once the prefix is in (-1 before). */
  private expected = -1;
  private done = false;
  private ended = false;
  request: unknown = undefined;

  constructor(
    private readonly method: Method,
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
  ) {
    stream.on('error', ignore); // a reset stream: its close ends the call
    const contentType = headers[h2.HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      this.done = true;
      stream.respond({ [h2.HTTP2_HEADER_STATUS]: h2.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, { endStream: true });
      return;
    }
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.onEnd());
  }

  /** Takes a chunk; refuses as soon as the prefix declares too much or more than one message arrives. */
  private onData(chunk: Buffer): void {
    if (this.done) return;
    const total = this.received + chunk.length;
    if (this.expected < 0 && total > MAX_FAST_REQUEST + 5) {
      this.fail(GRPC.RESOURCE_EXHAUSTED, `Received message larger than max (${total - 5} vs. ${MAX_FAST_REQUEST})`);
      return;
    }
    if (this.expected >= 0 && total > this.expected) {
      this.fail(GRPC.UNIMPLEMENTED, 'a unary call carries one request message');
      return;
    }
    if (this.received === 0) {
      this.buffer = chunk;
    } else {
      if (total > this.buffer.length) {
        const limit = this.expected < 0 ? MAX_FAST_REQUEST + 5 : this.expected;
        const grown = Buffer.allocUnsafe(Math.max(total, Math.min(Math.max(2 * this.buffer.length, 1024), limit)));
        this.buffer.copy(grown, 0, 0, this.received);
        this.buffer = grown;
      }
      chunk.copy(this.buffer, this.received);
    }
    this.received = total;
    if (this.expected >= 0 || total < 5) return;
    const declared = this.buffer.readUInt32BE(1);
    if (declared > MAX_FAST_REQUEST) {
      this.fail(GRPC.RESOURCE_EXHAUSTED, `Received message larger than max (${declared} vs. ${MAX_FAST_REQUEST})`);
      return;
    }
    this.expected = declared + 5;
    if (total > this.expected) this.fail(GRPC.UNIMPLEMENTED, 'a unary call carries one request message');
  }

  private onEnd(): void {
    this.ended = true;
    if (this.done) return;
    const received = this.received;
    if (received < 5 || received !== this.expected) {
      this.fail(GRPC.UNIMPLEMENTED, received === 0 ? 'a unary call carries one request message (none received)' : 'a unary call carries one request message, whole');
      return;
    }
    const body = this.buffer.subarray(0, received);
    this.buffer = EMPTY;
    if (body[0] !== 0) {
      // Only identity is accepted (grpc-accept-encoding says so); a compressed message is not guessed at.
      this.fail(GRPC.UNIMPLEMENTED, 'compressed request messages are not accepted (grpc-accept-encoding: identity)');
      return;
    }
    try {
      this.request = this.method.deserialize(body.subarray(5));
    } catch {
      this.fail(GRPC.INTERNAL, 'Error deserializing request');
      return;
    }
    try {
      this.method.handler(this as unknown as FastCall<never>, (error, value) => this.answer(error, value));
    } catch {
      this.fail(GRPC.INTERNAL, 'the handler failed');
    }
  }

  private answer(error: { code: number; details: string } | null, value: unknown): void {
    if (this.done) return;
    if (error !== null) {
      this.fail(error.code, error.details);
      return;
    }
    let message: Buffer;
    try {
      message = this.method.serialize(value as never);
    } catch {
      this.fail(GRPC.INTERNAL, 'Error serializing response');
      return;
    }
    this.done = true;
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return; // the client gave up (deadline, cancel)
    const frame = framed(message);
    stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto', 'grpc-accept-encoding': 'identity' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
    stream.end(frame);
  }

  /** A trailers-only answer with a non-OK status. */
  private fail(code: number, details: string): void {
    this.done = true;
    this.buffer = EMPTY;
    const stream = this.stream;
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    stream.respond({
      [h2.HTTP2_HEADER_STATUS]: 200, [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
      'grpc-status': String(code), 'grpc-message': grpcMessage(details),
    }, { endStream: true });
    // Refused before the request ended: the rest of it is not wanted (RFC 9113 8.1: RST_STREAM NO_ERROR).
    if (!this.ended) stream.close(h2.NGHTTP2_NO_ERROR);
  }
}

const EMPTY = Buffer.alloc(0);

function ignore(): void {}

function hasItems(list: unknown): boolean {
  return Array.isArray(list) && list.length > 0;
}

/** grpc-message as grpc-js writes it (encodeURI: its clients decodeURI); a lone surrogate (which encodeURI refuses) becomes U+FFFD. */
function grpcMessage(details: string): string {
  try {
    return encodeURI(details);
  } catch {
    return encodeURI(details.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}
