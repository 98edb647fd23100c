// The server side of one client connection: finds request heads with the
// native parser, runs one ActiveRequest at a time (pipelined requests wait
// their turn), routes body bytes to it, and closes when told to or drained.
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { CHUNKED, PARTIAL_HEAD, checkPartialRequestHead, parseRequestHead, tlsContextCertificates, type TlsCertificateInfo } from '../src/native.js';
import { ActiveRequest } from './active-request.js';
import { headOut, parseLimits } from './parse-scratch.js';
import { appendKept, retain } from './shared-read-buffer.js';
import { acceptSocket, type SocketOwner, type TransportSocket } from './transport-socket.js';
import { selectFilterChain } from './filter-chain-select.js';
import { openTls, type TlsLink, type TlsOwner } from './tls-channel.js';
import { INSPECT_MORE, INSPECT_PLAINTEXT, inspectClientHello, MAX_CLIENT_HELLO_BYTES, type ClientHelloInfo } from './tls-inspector.js';
import { HTTP_INSPECT_MORE, httpInspectProtocol, inspectHttp, MAX_HTTP_INSPECT_BYTES } from './http-inspector.js';
import { isNativeReadBuffer, NativeSocket } from './native-transport.js';
import { NativeTlsChannel } from './native-tls-channel.js';
import { encodeBodyPiece } from './message-heads.js';
import { TcpProxySession, type TcpDownstream } from './tcp-proxy/tcp-proxy-session.js';
import type { TcpProxyConfig } from '../src/config/tcp-proxy.js';
import type { ListenerChains } from './listener-chains.js';
import type { WorkerContext } from './worker-context.js';
import { startHttp2IfChosen } from './http2/codec-select.js';
import type { H2ConnectionSession } from './http2/h2-stream-backend.js';
import { internSecurity } from './request-stats.js';
import type { ConnectionSecurity } from '../src/stats/worker-stats-snapshot.js';
import { timerDelay } from '../src/timer-delay.js';

/** A request with a route timeout (the router). */
export interface RouteTimerOwner {
  routeTimedOut(): void;
}

/** How long a half-closed connection may linger before it is destroyed. */
const LINGER_MS = 2000;

/** How socket bytes are read: peeked by the tls_inspector, plaintext, or through TLS. */
const MODE_INSPECT = 0;
const MODE_PLAIN = 1;
const MODE_TLS = 2;

export class DownstreamConnection implements SocketOwner, TlsOwner, TcpDownstream {
  private readonly socket: TransportSocket;
  readonly remoteAddress: string;
  private readonly connectionNumber: number;
  /** The filter chain serving this connection (its HCM routes the requests). */
  chainIndex = 0;
  /** Its requests are on no HTTP/2 stream (ActiveRequest.http2Stream; an H2StreamConnection answers itself). */
  readonly http2Stream: null = null;
  private mode = MODE_PLAIN;
  private tls: TlsLink | null = null;
  /** The chain's tcp_proxy, when it has one: every byte goes to it instead of the HTTP engine. */
  private tcp: TcpProxySession | null = null;
  private localUri: string | null = null;
  private securityKnown = false;
  private securityLabels: ConnectionSecurity | null = null;
  /** Bytes received and not yet consumed: a partial head, or the next pipelined request. */
  private buffered: Buffer | null = null;
  /** The growable store `buffered` may be the start of (see keep). */
  private keptStore: Buffer | null = null;
  /** True while `buffered` starts with a head that has not fully arrived. */
  private partialHead = false;
  /** Where checkPartialRequestHead stands in that head: each read checks only its new bytes (trickled heads stay linear). */
  private readonly partialState = new Uint32Array(PARTIAL_HEAD.STATE_SIZE);
  private request: ActiveRequest | null = null;
  /** HTTP/2 (codec_type, ALPN h2 or the client preface): the session that owns the bytes from then on. */
  private h2: H2ConnectionSession | null = null;
  private codecChosen = false;
  private processing = false;
  private headTimer: NodeJS.Timeout | null = null;
  /**
   * The requests' route timeout: one timer per connection, set for the first request's deadline; a later request
   * only moves the deadline (performance.now() ms), and the firing re-arms for what is left of it.
   */
  private routeTimer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (performance.now() ms). */
  private routeTimerAt = 0;
  private routeDeadline = 0;
  /** The request whose route timeout runs; null when none (a firing then does nothing). */
  private routeTimerOwner: RouteTimerOwner | null = null;
  private closed = false;
  private ending = false;
  /**
   * A write answered false: the client is not reading as fast as we answer. No further pipelined request starts
   * until the transport reports the socket writable again (onSocketWritable), or a client that pipelines and never
   * reads would have every response queued here (as Node's http server and nginx, they wait for the client).
   */
  private writeBlocked = false;
  /** Chunked request body decoder state, reused by each request in turn (request-body-reader.ts). */
  readonly chunkState = new Float64Array(CHUNKED.STATE_SIZE);

  /** Takes over an accepted fd; throws (leaving the fd open) when it is not a usable socket. */
  constructor(
    fd: number,
    private readonly listenerName: string,
    readonly worker: WorkerContext,
    idleTimeoutMs: number,
    /** request_headers_timeout: from a head's first byte to its last; 0 = none (the chosen chain's, once chosen). */
    private headersTimeoutMs: number,
    private readonly chains: ListenerChains | null = null,
  ) {
    const socket = acceptSocket(fd, this);
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress;
    worker.connections.add(this);
    worker.downstreamCxTotal++;
    this.connectionNumber = worker.downstreamCxTotal;
    if (idleTimeoutMs > 0) socket.setTimeout(idleTimeoutMs);
    if (chains !== null) {
      if (chains.inspect) {
        this.mode = MODE_INSPECT;
        // listener_filters_timeout: a client trickling (or never sending) its ClientHello does not hold the connection.
        if (chains.inspectTimeoutMs > 0) this.headTimer = setTimeout(onInspectTimeout, timerDelay(chains.inspectTimeoutMs), this);
      } else {
        this.useChain(0);
      }
    }
  }

  get draining(): boolean {
    return this.worker.draining;
  }

  /** Envoy's CONNECTION_ID: unique in the process (the worker's id in the low bits). */
  get id(): number {
    return this.connectionNumber * 256 + this.worker.workerId;
  }

  /** The client's port (0 where the transport does not report it). */
  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  /** The negotiated TLS version ('TLSv1.3'), '' without TLS. */
  get tlsVersion(): string {
    return this.tls?.peer?.version ?? '';
  }

  /** The SNI the client sent, '' without TLS or SNI. */
  get requestedServerName(): string {
    return this.tls?.peer?.serverName ?? '';
  }

  /** The ALPN protocol TLS negotiated ('' without TLS). */
  get alpn(): string {
    return this.tls?.peer?.alpn ?? '';
  }

  get listener(): string {
    return this.listenerName;
  }

  /** The native transport's id for this connection when the addon can write to it itself (plaintext or native TLS), else -1. */
  get nativeConnId(): number {
    if (!(this.socket instanceof NativeSocket)) return -1;
    return this.tls === null || this.tls instanceof NativeTlsChannel ? this.socket.id : -1;
  }

  /** The peer certificate's first URI SAN (a SPIFFE ID), '' without TLS or a client certificate. */
  get peerUriSan(): string {
    return this.tls?.peer?.certificate?.uriSans[0] ?? '';
  }

  /** The client certificate of a TLS connection, null without one. */
  get peerCertificate(): TlsCertificateInfo | null {
    return this.tls?.peer?.certificate ?? null;
  }

  /**
   * istio_requests_total's security labels for this connection: mutual_tls with both principals when the client
   * presented a (verified) certificate, none for plaintext on a listener that also takes TLS, null (unknown) otherwise.
   * Known once the handshake is done, so computed at the first request and kept.
   */
  get security(): ConnectionSecurity | null {
    if (this.securityKnown) return this.securityLabels;
    this.securityKnown = true;
    const cert = this.peerCertificate;
    if (cert !== null) this.securityLabels = internSecurity('mutual_tls', cert.uriSans[0] ?? '', this.localUriSan);
    else if (this.chains?.anyTls === true) this.securityLabels = internSecurity('none', '', '');
    return this.securityLabels;
  }

  /** This side's certificate's first URI SAN (XFCC's By=), '' without TLS or a URI SAN; looked up once per connection. */
  get localUriSan(): string {
    if (this.localUri === null) {
      const context = this.chains?.contexts[this.chainIndex] ?? null;
      this.localUri = context === null ? '' : (tlsContextCertificates(context).certificates[0]?.uriSans[0] ?? '');
    }
    return this.localUri;
  }

  /** Strings are latin1: every string written here is built from received bytes or ASCII. */
  write(data: Buffer | string): boolean {
    const ok = this.tls !== null ? this.tls.write(data) : this.socket.write(data);
    if (!ok) this.writeBlocked = true;
    return ok;
  }

  /**
   * A response's `head` (null once sent) and unchunked body bytes buf[start, end) of a read, in one write: on the
   * native transport straight from its read buffer (no copy in JS), else joined in a copy.
   */
  writeBody(head: Buffer | null, buf: Buffer, start: number, end: number): boolean {
    const tls = this.tls;
    let ok: boolean;
    if (isNativeReadBuffer(buf) && tls === null && this.socket instanceof NativeSocket) ok = this.socket.writeWithRead(head, start, end);
    else if (isNativeReadBuffer(buf) && tls instanceof NativeTlsChannel) ok = tls.writeWithRead(head, start, end);
    else return this.write(encodeBodyPiece(head, false, buf, start, end));
    if (!ok) this.writeBlocked = true;
    return ok;
  }

  /** Bytes buf[start, end) from the transport, valid only during this call: plaintext, TLS records, or bytes to inspect. */
  onSocketData(buf: Buffer, start: number, end: number): void {
    if (this.mode === MODE_PLAIN) this.onPlain(buf, start, end);
    else if (this.mode === MODE_TLS) this.tls!.receive(buf, start, end);
    else this.inspect(buf, start, end);
  }

  /**
   * The listener filters: the tls_inspector waits for the ClientHello (or a first non-TLS byte), the
   * http_inspector for a plaintext request line (or the h2c preface); then the filter chain is picked.
   */
  private inspect(buf: Buffer, from: number, to: number): void {
    let data = buf;
    let start = from;
    let end = to;
    if (this.buffered !== null) {
      // Joined in the store kept bytes grow in (by doubling), so a ClientHello trickled in 1-byte reads costs linear copying.
      this.keep(buf, from, to);
      data = this.buffered;
      start = 0;
      end = data.length;
    }
    const chains = this.chains!;
    const info: ClientHelloInfo = { sni: '', alpn: [] };
    const r = chains.inspectTls ? inspectClientHello(data, start, end, info) : INSPECT_PLAINTEXT;
    let more = r === INSPECT_MORE;
    if (r === INSPECT_PLAINTEXT && chains.inspectHttp) {
      const h = inspectHttp(data, start, end);
      if (h === HTTP_INSPECT_MORE) more = true;
      else if (httpInspectProtocol(h) !== '') info.alpn.push(httpInspectProtocol(h));
    }
    if (more) {
      if (data === buf) this.keep(buf, from, to);
      if (end - start > Math.max(MAX_CLIENT_HELLO_BYTES, MAX_HTTP_INSPECT_BYTES)) this.socket.close();
      return;
    }
    this.chooseChain(r === INSPECT_PLAINTEXT ? 'raw_buffer' : 'tls', info, data, start, end);
  }

  /** Picks the chain for what the listener filters found and hands it the inspected bytes data[start, end). */
  private chooseChain(transport: 'tls' | 'raw_buffer', info: ClientHelloInfo, data: Buffer, start: number, end: number): void {
    // The inspected bytes (data) now go to the chain; the connection's kept bytes start afresh for the head parser.
    this.buffered = null;
    this.keptStore = null;
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer);
      this.headTimer = null;
    }
    const index = selectFilterChain(this.chains!.chains, transport, info.sni, info.alpn);
    if (index < 0 || (transport === 'raw_buffer' && this.chains!.contexts[index] !== null)) {
      // No chain takes it (or plaintext reached a TLS-only chain): close, as Envoy does.
      this.worker.noFilterChainMatch++;
      this.socket.close();
      return;
    }
    this.useChain(index);
    if (end === start) return;
    if (this.mode === MODE_TLS) this.tls!.receive(data, start, end);
    else this.onPlain(data, start, end);
  }

  private useChain(index: number): void {
    this.chainIndex = index;
    const chain = this.chains!.chains[index]!;
    // Each chain has its own HCM: its timeouts replace the listener's first chain's.
    const hcm = chain.hcm;
    this.headersTimeoutMs = hcm.requestHeadersTimeoutMs;
    this.socket.setTimeout(chain.tcpProxy === null ? hcm.streamIdleTimeoutMs : chain.tcpProxy.idleTimeoutMs);
    const context = this.chains!.contexts[index] ?? null;
    if (context === null) {
      this.mode = MODE_PLAIN;
    } else {
      this.mode = MODE_TLS;
      this.tls = openTls(context, this.socket, this);
    }
    if (chain.tcpProxy !== null) {
      // Half-close is relayed: the client's FIN ends only what it sends.
      this.socket.allowHalfOpen();
      // Behind TLS termination the upstream is opened once the handshake is done (nothing to relay before it).
      if (this.tls === null) this.tcp = new TcpProxySession(this, chain.tcpProxy, this.worker);
    }
  }

  /**
   * An accepted upgrade (WebSocket, CONNECT): the request gives up the connection, which from now on relays
   * bytes to a host of `config`'s cluster, `first` (the upstream request head) ahead of the client's bytes.
   */
  startTunnel(config: TcpProxyConfig, first: Buffer | null, connectReply: Buffer | null): void {
    this.request = null;
    this.clearHeadTimer();
    this.socket.allowHalfOpen();
    this.socket.setTimeout(config.idleTimeoutMs);
    this.tcp = new TcpProxySession(this, config, this.worker, first, connectReply);
  }

  /** tcp_proxy: writes buf[start, end) of a read buffer, copied when the transport would keep a reference to it. */
  writeRange(buf: Buffer, start: number, end: number): boolean {
    if (this.tls !== null) return this.tls.write(buf.subarray(start, end));
    if (this.socket instanceof NativeSocket) return this.socket.write(buf.subarray(start, end));
    return this.socket.write(retain(buf, start, end));
  }

  /** tcp_proxy: the upstream ended; our side half-closes after what is queued. */
  halfClose(): void {
    if (this.tls !== null) this.tls.end();
    else this.socket.shutdown();
  }

  onTlsHandshake(): void {
    this.worker.tlsHandshakes++;
    const tcpProxy = this.chains?.chains[this.chainIndex]?.tcpProxy ?? null;
    if (tcpProxy !== null && this.tcp === null) this.tcp = new TcpProxySession(this, tcpProxy, this.worker);
  }

  onTlsPlaintext(buf: Buffer, start: number, end: number): void {
    this.onPlain(buf, start, end);
  }

  onTlsFailure(): void {
    this.worker.tlsHandshakeFailures += this.tls!.handshakeDone ? 0 : 1;
    // The alert is queued: send it, then close.
    this.ending = true;
    this.buffered = null;
    this.socket.shutdown();
    this.socket.setTimeout(LINGER_MS);
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  destroy(): void {
    this.socket.close();
  }

  /** Closes now if idle, else after the current response (which then says `connection: close`). A tcp_proxy connection runs on until shutdown's deadline. */
  drain(): void {
    if (this.h2 !== null) {
      this.h2.drain();
      return;
    }
    if (this.tcp !== null) return;
    if (this.request === null && !this.processing) this.end();
  }

  /** Plaintext bytes buf[start, end) (from the socket, or decrypted), valid only during this call (see shared-read-buffer.ts). */
  private onPlain(buf: Buffer, start: number, end: number): void {
    if (this.tcp !== null) {
      this.tcp.onDownstreamData(buf, start, end);
      return;
    }
    if (this.ending) return; // closing after a refusal: read and drop what the client still sends
    if (this.h2 !== null) {
      this.h2.receive(buf, start, end);
      return;
    }
    if (!this.codecChosen) {
      this.codecChosen = true;
      this.h2 = startHttp2IfChosen(this, buf, start, end);
      if (this.h2 !== null) return;
    }
    const req = this.request;
    if (req !== null && req.receivingBody) {
      const used = req.onDownstreamBody(buf, start, end);
      if (used < end) this.keep(buf, used, end);
      return;
    }
    if (req === null && this.buffered === null) {
      this.process(buf, start, end); // the common case: a whole head in one read, parsed in place
      return;
    }
    this.keep(buf, start, end);
    if (req === null) this.processKept();
    else if (this.buffered!.length > parseLimits.maxHeadBytes) this.socket.pause(); // pipelining far ahead of us
  }

  /** Appends a copy of buf[start, end) to the kept bytes (in keptStore, grown by doubling: appendKept). */
  private keep(buf: Buffer, start: number, end: number): void {
    const kept = this.buffered;
    if (kept === null) {
      this.buffered = retain(buf, start, end);
      return;
    }
    const store = (this.keptStore = appendKept(kept, this.keptStore, buf, start, end));
    this.buffered = store.subarray(0, kept.length + end - start);
  }

  private processKept(): void {
    if (this.writeBlocked) {
      this.socket.pause(); // onSocketWritable goes on with the kept bytes
      return;
    }
    const kept = this.buffered!;
    if (this.partialHead) {
      // A head arriving in pieces: refuse it as soon as its bytes go wrong, parse it once it is complete.
      const r = checkPartialRequestHead(kept, 0, kept.length, this.partialState, parseLimits.maxHeadBytes, parseLimits.maxHeaders);
      if (r === 0) return;
      this.partialHead = false;
      if (r < 0) {
        this.buffered = null;
        this.refuse(r);
        return;
      }
    }
    this.buffered = null;
    this.process(kept, 0, kept.length);
  }

  /** Answers a malformed head (negative PARSE_ERROR) and closes. */
  private refuse(code: number): void {
    this.clearHeadTimer();
    const req = new ActiveRequest(this, this.worker.snapshot, this.listenerName);
    this.request = req;
    req.rejectMalformed(code);
  }

  private clearHeadTimer(): void {
    if (this.headTimer !== null) {
      clearTimeout(this.headTimer);
      this.headTimer = null;
    }
  }

  /** Runs requests from buf[start, end); keeps a copy of whatever it cannot use yet. */
  private process(buf: Buffer, start: number, end: number): void {
    this.processing = true;
    let pos = start;
    while (this.request === null && pos < end && !this.ending && !this.writeBlocked) {
      const n = parseRequestHead(buf, pos, end, headOut, parseLimits.maxHeadBytes, parseLimits.maxHeaders);
      if (n === 0) {
        // A partial head: later reads check only their new bytes (processKept).
        this.partialHead = true;
        this.partialState.fill(0);
        if (this.headersTimeoutMs > 0 && this.headTimer === null) {
          this.headTimer = setTimeout(onHeadTimeout, timerDelay(this.headersTimeoutMs), this);
        }
        break;
      }
      if (n < 0) {
        pos = end;
        this.refuse(n);
        break;
      }
      this.clearHeadTimer();
      const req = new ActiveRequest(this, this.worker.snapshot, this.listenerName);
      this.request = req;
      req.start(buf, n);
      pos += n;
      if (this.tcp !== null) {
        // The request was upgraded: what follows its head is tunnel payload.
        if (pos < end) this.tcp.onDownstreamData(buf, pos, end);
        pos = end;
        break;
      }
      if (this.request === req && req.receivingBody && pos < end) pos = req.onDownstreamBody(buf, pos, end);
    }
    this.processing = false;
    if (pos < end && !this.ending) this.keep(buf, pos, end);
    if (this.buffered !== null && (this.request === null ? this.writeBlocked : !this.request.receivingBody)) this.socket.pause();
  }

  /** Starts `owner`'s route timeout of `ms` (a timer already armed to fire sooner is left to re-arm itself then). */
  armRouteTimer(owner: RouteTimerOwner, ms: number): void {
    this.routeTimerOwner = owner;
    this.routeDeadline = performance.now() + ms;
    if (this.routeTimer !== null && this.routeTimerAt <= this.routeDeadline) return;
    if (this.routeTimer !== null) clearTimeout(this.routeTimer);
    this.setRouteTimer(ms);
  }

  private setRouteTimer(ms: number): void {
    this.routeTimerAt = performance.now() + ms;
    this.routeTimer = setTimeout(onRouteTimer, timerDelay(ms), this);
  }

  /** `owner` is done: its route timeout no longer applies (an armed timer then fires once for nothing). */
  disarmRouteTimer(owner: RouteTimerOwner): void {
    if (this.routeTimerOwner === owner) this.routeTimerOwner = null;
  }

  routeTimerFired(): void {
    this.routeTimer = null;
    const owner = this.routeTimerOwner;
    if (owner === null) return;
    // Set for an earlier request: the current one has time left (timers fire on the loop's ms clock: 1 ms slack).
    const left = this.routeDeadline - performance.now();
    if (left > 1) {
      this.setRouteTimer(Math.ceil(left));
      return;
    }
    this.routeTimerOwner = null;
    owner.routeTimedOut();
  }

  /** The request finished (response sent, or failed); `close` when the connection cannot carry another. */
  onRequestDone(req: ActiveRequest, close: boolean): void {
    if (this.request !== req) return;
    this.request = null;
    if (close || this.worker.draining) {
      this.end();
      return;
    }
    if (this.writeBlocked) {
      this.socket.pause(); // the client is behind: the next request waits for onSocketWritable
      return;
    }
    this.startNext();
  }

  /** Between requests: the next pipelined one from the kept bytes, if any; reads on unless it waits for its turn. */
  private startNext(): void {
    if (!this.processing && this.buffered !== null) this.processKept();
    const next = this.request as ActiveRequest | null; // processKept may have started the next one
    if (next === null || next.receivingBody) this.resumeReading();
  }

  /**
   * Half-closes after the last response and keeps reading (and dropping) what
   * the client still sends until it closes too: closing with unread bytes
   * would make the kernel send a reset that can destroy our last response
   * before the client reads it (a lingering close, as nginx does).
   */
  /** The HTTP/2 session is done with the connection. */
  endConnection(): void {
    this.end();
  }

  private end(): void {
    if (this.ending) return;
    this.ending = true;
    this.buffered = null;
    this.partialHead = false;
    if (this.tls !== null) this.tls.end();
    else this.socket.shutdown();
    this.socket.setTimeout(LINGER_MS);
    this.resumeReading();
  }

  onSocketConnect(): void {}

  onSocketWritable(): void {
    this.writeBlocked = false;
    if (this.h2 !== null) this.h2.onWritable();
    if (this.tcp !== null) this.tcp.onDownstreamWritable();
    else if (this.request !== null) this.request.onDownstreamWritable();
    else if (this.h2 === null && !this.ending && !this.closed && !this.processing) this.startNext();
  }

  headTimedOut(): void {
    this.headTimer = null;
    if (this.request !== null || this.ending) return;
    this.buffered = null;
    this.partialHead = false;
    const req = new ActiveRequest(this, this.worker.snapshot, this.listenerName);
    this.request = req;
    req.rejectSlowHead();
  }

  onSocketTimeout(): void {
    if (this.tcp !== null) this.tcp.onIdleTimeout();
    else this.socket.close();
  }

  /** The client half-closed: reported only after allowHalfOpen (tcp_proxy); otherwise the transport ends our side too. */
  onSocketEnd(): void {
    if (this.tcp !== null) this.tcp.onDownstreamEnd();
  }

  /** listener_filters_timeout elapsed before the ClientHello: closed, as Envoy does without continue_on_listener_filters_timeout. */
  inspectTimedOut(): void {
    this.headTimer = null;
    if (this.mode !== MODE_INSPECT) return;
    this.worker.listenerFiltersTimeout++;
    if (!this.chains!.continueOnTimeout) {
      this.socket.close();
      return;
    }
    // continue_on_listener_filters_timeout: nothing was recognised, so the chain for plaintext with no protocol.
    const kept = this.buffered;
    this.chooseChain('raw_buffer', { sni: '', alpn: [] }, kept ?? Buffer.alloc(0), 0, kept?.length ?? 0);
  }

  onSocketClose(): void {
    this.closed = true;
    this.tls?.free();
    this.h2?.onClosed();
    if (this.headTimer !== null) clearTimeout(this.headTimer);
    if (this.routeTimer !== null) clearTimeout(this.routeTimer);
    this.routeTimerOwner = null;
    this.tcp?.onDownstreamClosed();
    const req = this.request;
    this.request = null;
    if (req !== null) req.onDownstreamClosed();
    this.worker.connectionClosed(this);
  }
}

function onInspectTimeout(conn: DownstreamConnection): void {
  conn.inspectTimedOut();
}

function onRouteTimer(conn: DownstreamConnection): void {
  conn.routeTimerFired();
}

function onHeadTimeout(conn: DownstreamConnection): void {
  conn.headTimedOut();
}
