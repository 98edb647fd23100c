// An HTTP/2 server session on one downstream connection (node:http2, i.e.
// nghttp2, over the connection's plaintext through a SocketDuplex). nghttp2
// enforces the SETTINGS we advertise (max_concurrent_streams, windows,
// header list size) and its flood limits (SETTINGS/PING ack floods, outbound
// queue, invalid frames); a client resetting most of its streams before they
// are answered (rapid reset) gets GOAWAY, as Envoy does. Each stream becomes
// an H2StreamConnection running the HTTP/1.1 request path. The fallback for
// connections the native session (native-h2-session.ts) cannot drive.
import type * as http2 from 'node:http2';
import { H2, nodeHttp2 } from '../../src/node-http2.js';
import type { Http2Options } from '../../src/config/http2-options.js';
import type { DownstreamConnection } from '../downstream-connection.js';
import type { WorkerContext } from '../worker-context.js';
import { h2Counters } from './h2-counters.js';
import type { H2SessionSide } from './h2-stream-backend.js';
import { NodeH2Stream } from './node-h2-stream.js';
import { SocketDuplex, type DuplexOwner } from './socket-duplex.js';

/** Envoy's rule: past this many streams, resets before the response on over half of them end the connection. */
const PREMATURE_RESET_MIN_STREAMS = 100;
const END_STREAM = 0x1;
const SESSION_MEMORY_MB = 10;

/** One http2.Http2Server per options object (servers hold only settings; sessions are ours). */
const servers = new WeakMap<Http2Options, http2.Http2Server>();
/** The session being created, for the server's 'session' event (emitted synchronously). */
let creating: H2DownstreamSession | null = null;

function serverFor(options: Http2Options): http2.Http2Server {
  let server = servers.get(options);
  if (server !== undefined) return server;
  server = nodeHttp2().createServer({
    settings: {
      maxConcurrentStreams: Math.min(options.maxConcurrentStreams, 2 ** 31 - 1),
      initialWindowSize: options.initialStreamWindowSize,
      maxHeaderListSize: options.maxHeaderListSize,
      enablePush: false,
    },
    // Outbound frames queued for a peer that does not read (nghttp2's outbound ack limit covers control frames).
    // What nghttp2 may hold for one session (queued outbound frames, HPACK tables, stream state), MB: past it, new streams are refused.
    maxSessionMemory: SESSION_MEMORY_MB,
    maxHeaderListPairs: 128,
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    maxSettings: 32,
    unknownProtocolTimeout: 10_000,
  });
  server.on('session', onSession);
  servers.set(options, server);
  return server;
}

function onSession(session: http2.ServerHttp2Session): void {
  const owner = creating;
  if (owner !== null) owner.bind(session);
}

export class H2DownstreamSession implements DuplexOwner, H2SessionSide {
  private readonly duplex: SocketDuplex;
  private session: http2.ServerHttp2Session | null = null;
  private streams = 0;
  private prematureResets = 0;
  private closing = false;

  constructor(
    readonly conn: DownstreamConnection,
    readonly worker: WorkerContext,
    readonly listenerName: string,
    private readonly options: Http2Options,
  ) {
    h2Counters.cxTotal++;
    this.duplex = new SocketDuplex(this, conn.remoteAddress);
    creating = this;
    try {
      serverFor(options).emit('connection', this.duplex);
    } finally {
      creating = null;
    }
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  bind(session: http2.ServerHttp2Session): void {
    this.session = session;
    if (this.options.initialConnectionWindowSize > 65535) session.setLocalWindowSize(this.options.initialConnectionWindowSize);
    session.on('stream', this.onStream.bind(this));
    session.on('error', this.onError.bind(this));
    session.on('frameError', this.onFrameError.bind(this));
  }

  /** Plaintext bytes from the client. */
  receive(buf: Buffer, start: number, end: number): void {
    this.duplex.feed(buf, start, end);
  }

  onWritable(): void {
    this.duplex.writable_();
  }

  /** The socket closed. */
  onClosed(): void {
    this.duplex.peerClosed();
  }

  /** Shutdown or a listener drain: GOAWAY, let open streams finish. */
  drain(): void {
    const s = this.session;
    if (s === null || s.closed || s.destroyed) return;
    s.close();
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]): void {
    this.streams++;
    h2Counters.streamsTotal++;
    new NodeH2Stream(this, stream, headers as Record<string, string | string[] | undefined>, rawHeaders, (flags & END_STREAM) !== 0);
  }

  /** A stream ended before its response did (the client reset it, or the session went). */
  streamResetEarly(): void {
    if (this.closing) return;
    h2Counters.rxReset++;
    this.prematureResets++;
    if (this.streams >= PREMATURE_RESET_MIN_STREAMS && this.prematureResets * 2 > this.streams) {
      this.closing = true;
      h2Counters.tooManyPrematureResets++;
      const s = this.session;
      if (s !== null && !s.destroyed) {
        s.goaway(H2.NGHTTP2_ENHANCE_YOUR_CALM);
        s.destroy();
      }
    }
  }

  private onError(): void {
    // nghttp2 refused the peer's frames (flood, bad HPACK, protocol error): the session is gone; count it.
    if (!this.closing) h2Counters.cxProtocolError++;
    this.closing = true;
  }

  private onFrameError(): void {}

  // ---- DuplexOwner ----

  writeOut(data: Buffer): boolean {
    return this.conn.write(data);
  }

  pauseReading(): void {
    this.conn.pauseReading();
  }

  resumeReading(): void {
    this.conn.resumeReading();
  }

  closeOut(): void {
    this.closing = true;
    this.conn.endConnection();
  }
}
