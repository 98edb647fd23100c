// One HTTP/2 client connection to an upstream endpoint (node:http2), carrying
// up to its stream limit of requests at once: the lower of the cluster's
// max_concurrent_streams and the peer's SETTINGS. Counted as a connection
// (max_connections, cx counters); GOAWAY stops new streams on it.
import type * as http2 from 'node:http2';
import { nodeHttp2 } from '../../src/node-http2.js';
import * as net from 'node:net';
import type { Http2Options } from '../../src/config/http2-options.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { timerDelay } from '../../src/timer-delay.js';
import { H2UpstreamTls } from './h2-upstream-tls.js';

/** Before the peer's SETTINGS arrive, assume this many streams (RFC 9113 recommends peers allow at least 100). */
const ASSUMED_PEER_STREAMS = 100;

export interface H2SessionOwner {
  /** The session closed or went away (GOAWAY): it takes no new streams. */
  sessionGone(session: H2UpstreamSession): void;
  /** A stream finished: capacity for a waiting request. */
  streamFreed(session: H2UpstreamSession): void;
}

export class H2UpstreamSession {
  readonly session: http2.ClientHttp2Session;
  active = 0;
  connected = false;
  /** No new streams (GOAWAY received, closed, or failed). */
  gone = false;
  /** The last stream id the peer's GOAWAY said it processed; -1 before any GOAWAY. */
  goawayLastStreamId = -1;
  private counted = true;
  /** Streams begun on this session; at the cluster's max_requests_per_connection it takes no more (Envoy drains it). */
  private started = 0;

  constructor(
    readonly endpoint: UpstreamEndpoint,
    private readonly options: Http2Options,
    private readonly owner: H2SessionOwner,
  ) {
    const counters = endpoint.counters;
    counters.cxTotal++;
    counters.cxActive++;
    endpoint.cxActive++;
    endpoint.cluster.connectionOpened();
    const host = endpoint.address.includes(':') ? `[${endpoint.address}]` : endpoint.address;
    const tls = endpoint.h2Tls !== null;
    this.session = nodeHttp2().connect(`${tls ? 'https' : 'http'}://${host}:${endpoint.port}`, {
      settings: {
        enablePush: false,
        initialWindowSize: options.initialStreamWindowSize,
        maxHeaderListSize: options.maxHeaderListSize,
      },
      // What nghttp2 may hold for one session (queued frames, HPACK tables, streams), MB: past it, new streams are refused.
      maxSessionMemory: 10,
      maxHeaderListPairs: 128,
      // Without TCP_NODELAY small frames wait on Nagle and the peer's delayed ACK (tens of ms per exchange).
      // With an UpstreamTlsContext: h2 inside our TLS engine (h2-upstream-tls.ts).
      createConnection: tls ? () => new H2UpstreamTls(endpoint, this).duplex : () => net.connect({ host: endpoint.address, port: endpoint.port, noDelay: true }),
    });
    const s = this.session;
    // Over TLS the session starts at once on the duplex; the connection counts as up once the handshake is done.
    if (!tls) s.on('connect', this.onConnect.bind(this));
    s.on('goaway', this.onGoaway.bind(this));
    s.on('close', this.onClose.bind(this));
    s.on('error', noop);
    // idle_timeout (0 = never): a session quiet that long closes when no stream is open.
    s.setTimeout(timerDelay(endpoint.idleTimeoutMs), this.onIdle.bind(this));
    if (endpoint.connectTimeoutMs > 0) this.connectTimer = setTimeout(onConnectTimeout, timerDelay(endpoint.connectTimeoutMs), this);
  }

  private connectTimer: NodeJS.Timeout | null = null;

  /** Streams this session may carry at once now. */
  get capacity(): number {
    const peer = this.connected ? (this.session.remoteSettings.maxConcurrentStreams ?? ASSUMED_PEER_STREAMS) : ASSUMED_PEER_STREAMS;
    return Math.min(peer, this.options.maxConcurrentStreams);
  }

  get hasRoom(): boolean {
    return !this.gone && this.active < this.capacity;
  }

  /** The connection is up (TCP connected; with TLS, the handshake done: H2UpstreamTls calls it). */
  onConnect(): void {
    this.connected = true;
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
    if (this.options.initialConnectionWindowSize > 65535) this.session.setLocalWindowSize(this.options.initialConnectionWindowSize);
    this.owner.streamFreed(this); // the real stream limit is known: waiting requests may fit
  }

  connectTimedOut(): void {
    this.connectTimer = null;
    if (!this.connected) this.session.destroy(new Error('connect timeout'));
  }

  private onGoaway(_code: number, lastStreamId: number): void {
    this.goawayLastStreamId = lastStreamId;
    if (this.gone) return;
    this.gone = true;
    this.owner.sessionGone(this);
  }

  /** A stream was bound to this session: counted against max_requests_per_connection. */
  streamStarted(): void {
    this.active++;
    const max = this.endpoint.maxRequestsPerConnection;
    if (max > 0 && ++this.started >= max) this.gone = true; // closed when its last stream ends (streamDone)
  }

  private onIdle(): void {
    if (this.active === 0) this.session.close();
  }

  streamDone(): void {
    this.active--;
    if (this.gone && this.active === 0) this.session.close();
    else this.owner.streamFreed(this);
  }

  close(): void {
    this.gone = true;
    if (this.active === 0) this.session.close();
  }

  private onClose(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    if (!this.connected) this.endpoint.counters.cxConnectFail++;
    if (this.counted) {
      this.counted = false;
      const endpoint = this.endpoint;
      endpoint.counters.cxActive--;
      endpoint.cxActive--;
      endpoint.cluster.connectionClosed();
    }
    this.gone = true;
    this.owner.sessionGone(this);
  }
}

function onConnectTimeout(s: H2UpstreamSession): void {
  s.connectTimedOut();
}

function noop(): void {}
