// The control plane's policy port (`isthmus control --policy-port`, Istio's
// istio-policy had one too): the policy services' unary methods (Mixer Check
// and Report, Envoy's ext_authz Check) as real gRPC over HTTP/2, served by
// the addon's nghttp2 server session (native/h2_session.cc) on its native
// socket transport instead of node:http2 + grpc-js. C++ reads and writes the
// frames (flow control, stream limits, the flood defences of the data
// plane's HTTP/2 listener); JS sees a batch of records per read (head, body
// chunk, end, close) and answers with three calls. On the xDS port the same
// methods cost the control plane ~110-160 µs of CPU per Check, almost all of
// it node:http2's per-stream machinery; here ~25 µs (h2load at 5000/s over
// 50 connections; bench/mixer-check.ts `--target policy`).
//
// gRPC as a stock client expects it: POST, content-type application/grpc*,
// one message behind the 5-byte prefix, answers application/grpc+proto with
// grpc-status trailers, errors trailers-only, unknown methods 12
// UNIMPLEMENTED, a message past MAX_POLICY_REQUEST refused with 8. Bounded:
// connections (MAX_CONNECTIONS), streams per connection (MAX_STREAMS), the
// request bytes held across all calls (MAX_HELD_BYTES), idle connections
// closed after IDLE_TIMEOUT_MS, and a request message not whole within
// REQUEST_TIMEOUT_MS refused (its bytes given back: else a client that stops
// mid-message, pinging to look busy, would hold its share of the budget for
// good, and eight of them all of it).
//
// The addon's HTTP/2 event channel is per thread (src/native-h2-events.ts):
// this server's sessions register on it as the data plane's do.
import { createServer } from 'node:net';
import type { ServiceDefinition } from '@grpc/proto-loader';
import {
  H2_EVENT as EV,
  closeFd,
  h2Control,
  h2End,
  h2EventCount,
  h2Open,
  h2Receive,
  h2Respond,
  h2Write,
  listenReusePort,
  resumeAccepting,
  startAccepting,
  stopAccepting,
  type Acceptor,
} from '../../src/native.js';
import { CallTable } from './call-table.js';
import { h2EventBuffers, h2Target, setH2Target } from '../../src/native-h2-events.js';
import { NativeSocket } from '../../workers/native-transport.js';
import type { SocketOwner } from '../../workers/transport-socket.js';
import { GRPC, MAX_POLICY_REQUEST, PolicyCall, asRangeReader, type PolicyCallHost, type PolicyHandler, type PolicyMethod } from './native-grpc-call.js';

export const MAX_CONNECTIONS = 1024;
export const MAX_STREAMS = 128;
/** Request bytes held by all calls at once, and by one connection's (each call reserves what it holds as it grows). */
export const MAX_HELD_BYTES = 64 * 1024 * 1024;
export const MAX_CONNECTION_HELD_BYTES = 2 * MAX_POLICY_REQUEST;
export const IDLE_TIMEOUT_MS = 10 * 60_000;
/** A call's request message must be whole this long after its head (refused DEADLINE_EXCEEDED within 1.5x that). */
export const REQUEST_TIMEOUT_MS = 30_000;
const BACKLOG = 511;
const MAX_HEADER_LIST = 16 * 1024;
const STREAM_WINDOW = 1024 * 1024;
const CONNECTION_WINDOW = 4 * 1024 * 1024;

const ANSWER_HEADERS = 'content-type\0application/grpc+proto\0grpc-accept-encoding\0identity\0';
const OK_TRAILERS = 'grpc-status\x000\0grpc-message\0OK\0';

let events: Int32Array | null = null;
let arena: Buffer = Buffer.alloc(0);
const settings = new Uint32Array([MAX_STREAMS, STREAM_WINDOW, CONNECTION_WINDOW, MAX_HEADER_LIST, 10_000, 1000]);

/** takes nothing; returns this thread's event array (the channel the data plane's sessions share too), with `arena` set. */
function ensureInit(): Int32Array {
  if (events === null) ({ events, arena } = h2EventBuffers());
  return events;
}

/** takes an address and port; resolves when a plain (not SO_REUSEPORT) listener could bind there, else rejects (EADDRINUSE, ...). */
function probeFree(address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen({ host: address, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/** takes a message; returns it as grpc-message carries it (percent-encoded as grpc-js's clients decode it). */
function grpcMessage(details: string): string {
  try {
    return encodeURI(details);
  } catch {
    return encodeURI(details.replace(/[\uD800-\uDFFF]/g, '\uFFFD'));
  }
}

export interface PolicyServerCounters {
  connections: number;
  refusedConnections: number;
  calls: number;
}

export class NativeGrpcServer {
  private readonly methods = new Map<string, PolicyMethod>();
  /** The methods by their path's bytes (what a request head is compared with). */
  private paths: { readonly path: Buffer; readonly method: PolicyMethod }[] = [];
  private acceptor: Acceptor | null = null;
  private held = 0;
  private readonly open = new Set<PolicySession>();
  private acceptPaused = false;
  /** Runs sweep() every requestTimeoutMs / 2 while listening. */
  private sweeper: NodeJS.Timeout | null = null;
  /** @internal sweeps so far: a call records it at its head (no clock read per call). */
  tick = 0;
  readonly counters: PolicyServerCounters = { connections: 0, refusedConnections: 0, calls: 0 };
  port = 0;

  /** takes how long a call's request message may take to arrive whole (REQUEST_TIMEOUT_MS). */
  constructor(private readonly requestTimeoutMs = REQUEST_TIMEOUT_MS) {}

  /** takes a service definition and handlers of its unary methods (the ones grpc-js is given); serves them from now on. */
  serve(definition: ServiceDefinition, handlers: Readonly<Record<string, unknown>>): void {
    for (const [name, handler] of Object.entries(handlers)) {
      const def = definition[name];
      if (def === undefined || def.requestStream || def.responseStream) throw new Error(`${name} is not a unary method of the service`);
      this.methods.set(def.path, {
        deserialize: def.requestDeserialize as (b: Buffer) => unknown,
        deserializeRange: asRangeReader(def.requestDeserialize as (b: Buffer) => unknown),
        serialize: def.responseSerialize as (v: never) => Buffer,
        handler: handler as PolicyHandler,
      });
    }
    this.paths = [...this.methods].map(([path, method]) => ({ path: Buffer.from(path, 'latin1'), method }));
  }

  /** takes an IP literal and a port (0: any); resolves the bound port. Rejects with `.code` (EADDRINUSE, ...). */
  async listen(address: string, port: number): Promise<number> {
    ensureInit();
    // The addon's listening socket has SO_REUSEPORT (for the data plane's workers): a second process could then share
    // the port and take half its connections. A plain bind first says whether anyone else holds it.
    if (port !== 0) await probeFree(address, port);
    const bound = listenReusePort(address, port, BACKLOG);
    this.acceptor = startAccepting(bound.fd, this.onAccept.bind(this));
    this.port = bound.port;
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(1, this.requestTimeoutMs / 2)).unref();
    return bound.port;
  }

  private onAccept(fd: number): void {
    if (fd < 0) {
      this.acceptPaused = true; // out of descriptors: resumed when a connection closes
      return;
    }
    if (this.open.size >= MAX_CONNECTIONS) {
      this.counters.refusedConnections++;
      closeFd(fd);
      return;
    }
    try {
      this.open.add(new PolicySession(this, fd));
      this.counters.connections++;
    } catch {
      closeFd(fd);
    }
  }

  /** Refuses the calls whose request began two sweeps ago or earlier and is not whole yet. */
  private sweep(): void {
    const stale = this.tick - 2;
    this.tick++;
    for (const s of this.open) s.refuseStale(stale);
  }

  /** @internal a session's path lookup: takes buf[start, end), the request's path; returns its method (undefined: none). */
  methodAt(buf: Buffer, start: number, end: number): PolicyMethod | undefined {
    const n = end - start;
    next: for (const entry of this.paths) {
      const p = entry.path;
      if (p.length !== n) continue;
      for (let i = 0; i < n; i++) if (buf[start + i] !== p[i]) continue next;
      return entry.method;
    }
    return undefined;
  }

  /** @internal */
  reserve(bytes: number): boolean {
    if (this.held + bytes > MAX_HELD_BYTES) return false;
    this.held += bytes;
    return true;
  }

  /** @internal */
  release(bytes: number): void {
    this.held -= bytes;
  }

  /** @internal */
  closed(session: PolicySession): void {
    this.open.delete(session);
    if (this.acceptPaused && this.acceptor !== null) {
      this.acceptPaused = false;
      resumeAccepting(this.acceptor);
    }
  }

  /** The port's counters in Prometheus text (the control plane's /metrics). */
  metricsText(): string {
    const c = this.counters;
    return '# HELP isthmus_policy_port_calls_total Calls on the policy port (--policy-port) to a method it serves.\n# TYPE isthmus_policy_port_calls_total counter\n'
      + `isthmus_policy_port_calls_total ${c.calls}\n`
      + '# HELP isthmus_policy_port_connections_total Connections accepted on the policy port.\n# TYPE isthmus_policy_port_connections_total counter\n'
      + `isthmus_policy_port_connections_total ${c.connections}\n`
      + '# HELP isthmus_policy_port_connections_refused_total Connections closed at once: the policy port held its maximum.\n# TYPE isthmus_policy_port_connections_refused_total counter\n'
      + `isthmus_policy_port_connections_refused_total ${c.refusedConnections}\n`
      + '# HELP isthmus_policy_port_connections_open Connections open on the policy port.\n# TYPE isthmus_policy_port_connections_open gauge\n'
      + `isthmus_policy_port_connections_open ${this.open.size}\n`;
  }

  /** Stops accepting; open connections get GOAWAY and end after their calls (or at once with `force`). */
  close(force = false): void {
    if (this.acceptor !== null) stopAccepting(this.acceptor);
    this.acceptor = null;
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const s of [...this.open]) s.shutdown(force);
  }
}

/** One connection: its socket, its nghttp2 session in the addon, and its calls by stream id. */
class PolicySession implements SocketOwner, PolicyCallHost {
  private readonly socket: NativeSocket;
  private readonly handle: number;
  private readonly calls = new CallTable<PolicyCall>();
  private over = false;
  /** Request bytes this connection's calls hold (within MAX_CONNECTION_HELD_BYTES and the server's budget). */
  private held = 0;

  constructor(
    private readonly server: NativeGrpcServer,
    fd: number,
  ) {
    this.socket = NativeSocket.accept(fd, this);
    this.handle = h2Open(this.socket.id, settings);
    if (this.handle < 0) {
      this.over = true;
      this.socket.close();
      return;
    }
    setH2Target(this.handle, this);
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
    h2Control(this.handle, 0); // the server's SETTINGS go out now, not at the client's first bytes
  }

  // ---- SocketOwner ----

  onSocketData(buf: Buffer, start: number, end: number): void {
    const ev = events!;
    while (start < end && !this.over) {
      const n = h2Receive(this.handle, buf, start, end);
      const count = h2EventCount();
      for (let i = 0, r = 0; i < count; i++, r += EV.RECORD_INTS) this.onEvent(ev, r, buf);
      if (n <= 0) break;
      start += n;
    }
  }

  onSocketConnect(): void {}

  onSocketWritable(): void {
    if (!this.over) h2Control(this.handle, 0);
  }

  onSocketTimeout(): void {
    this.shutdown(this.calls.size === 0);
  }

  onSocketClose(): void {
    this.over = true;
    if (this.handle >= 0 && h2Target(this.handle) === this) {
      setH2Target(this.handle, undefined);
      h2Control(this.handle, 2);
    }
    for (const call of this.calls.list()) call.onClose();
    this.calls.clear();
    this.server.closed(this);
  }

  // ---- nghttp2 records ----

  onEvent(ev: Int32Array, r: number, input: Buffer): void {
    const code = ev[r + 1]!;
    const kind = code & EV.CODE_MASK;
    const id = ev[r + 2]!;
    if (kind === EV.HEAD) {
      this.onHead(id, code, ev[r + 3]!, ev[r + 4]!);
      return;
    }
    if (kind === EV.SESSION_END) {
      this.over = true;
      if (ev[r + 3]! === 1) this.socket.close();
      else this.socket.shutdown();
      return;
    }
    const call = this.calls.get(id);
    if (call === undefined) return;
    if (kind === EV.DATA) call.onData(input, ev[r + 3]!, ev[r + 3]! + ev[r + 4]!);
    else if (kind === EV.DATA_ARENA) call.onData(arena, ev[r + 3]!, ev[r + 3]! + ev[r + 4]!);
    else if (kind === EV.END) call.onEnd();
    else if (kind === EV.CLOSE) {
      this.calls.remove(id);
      call.onClose();
    }
  }

  /** A request's head (as an HTTP/1.1 head in the arena: "POST /path HTTP/1.1\r\n..."). */
  private onHead(id: number, flags: number, offset: number, length: number): void {
    if ((flags & (EV.REFUSE_400 | EV.REFUSE_403)) !== 0) {
      h2Respond(this.handle, id, (flags & EV.REFUSE_403) !== 0 ? 403 : 400, '', true);
      return;
    }
    const space = arena.indexOf(32, offset);
    const pathEnd = space < 0 || space >= offset + length ? -1 : arena.indexOf(32, space + 1);
    if (pathEnd < 0 || pathEnd >= offset + length) {
      h2Respond(this.handle, id, 400, '', true);
      return;
    }
    if ((flags & EV.GRPC) === 0) {
      h2Respond(this.handle, id, 415, '', true);
      return;
    }
    // Method and path compared as bytes: no string per call.
    if (space - offset !== 4 || arena[offset] !== 80 || arena[offset + 1] !== 79 || arena[offset + 2] !== 83 || arena[offset + 3] !== 84) {
      this.fail(id, GRPC.UNIMPLEMENTED, 'gRPC calls are POST requests');
      return;
    }
    const method = this.server.methodAt(arena, space + 1, pathEnd);
    if (method === undefined) {
      this.fail(id, GRPC.UNIMPLEMENTED, `The server does not implement the method ${arena.latin1Slice(space + 1, pathEnd)}`);
      return;
    }
    this.server.counters.calls++;
    const call = new PolicyCall(this, id, method, this.server.tick);
    this.calls.add(call);
    if ((flags & EV.END_STREAM) !== 0) call.onEnd();
  }

  // ---- PolicyCallHost ----

  reserve(bytes: number): boolean {
    if (this.held + bytes > MAX_CONNECTION_HELD_BYTES || !this.server.reserve(bytes)) return false;
    this.held += bytes;
    return true;
  }

  release(bytes: number): void {
    this.held -= bytes;
    this.server.release(bytes);
  }

  answer(stream: number, frame: Buffer): void {
    if (this.over || !this.calls.has(stream)) return; // the client gave up (deadline, cancel) or the connection went
    if (!h2Respond(this.handle, stream, 200, ANSWER_HEADERS, false)) return;
    h2Write(this.handle, stream, frame);
    h2End(this.handle, stream, OK_TRAILERS);
  }

  /**
   * A trailers-only answer. A request not over by then keeps being read and its bytes dropped (an RST_STREAM here
   * would overtake the answer in nghttp2's queue); the stream ends when the client ends it or the connection goes.
   */
  fail(stream: number, code: number, message: string): void {
    if (this.over) return;
    h2Respond(this.handle, stream, 200, `content-type\0application/grpc+proto\0grpc-status\0${code}\0grpc-message\0${grpcMessage(message)}\0`, true);
  }

  /** takes a sweep count; refuses the calls whose request began at it or before and has not ended. */
  refuseStale(tick: number): void {
    for (const call of this.calls.list()) {
      if (call.startTick <= tick && !call.ended && !call.done) call.refuse(GRPC.DEADLINE_EXCEEDED, 'the request message did not arrive in time');
    }
  }

  /** GOAWAY (open calls finish), or close at once with `force`. */
  shutdown(force: boolean): void {
    if (this.over) return;
    if (force) {
      this.socket.close();
      return;
    }
    h2Control(this.handle, 1);
  }
}
