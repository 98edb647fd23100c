// One HTTP/2 client connection to a plaintext upstream endpoint run by
// nghttp2 in the addon (native/h2_client_session.cc) on a native transport
// socket: the same pool contract as H2UpstreamSession (node:http2), without
// node:http2's per-request stream objects, which cost ~30% of the proxy's CPU
// per request (its session.request alone). Up to its stream limit of requests
// at once: the lower of the cluster's max_concurrent_streams and the peer's
// SETTINGS. Counted as a connection; GOAWAY stops new streams on it.
import { H2_EVENT as EV, h2EventCount, h2cControl, h2cOpen, h2cReceive } from '../../src/native.js';
import type { Http2Options } from '../../src/config/http2-options.js';
import { NativeSocket } from '../native-transport.js';
import type { SocketOwner } from '../transport-socket.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { timerDelay } from '../../src/timer-delay.js';
import { h2EventBuffers, setH2Target, type H2EventTarget } from './native-h2-session.js';
import type { NativeH2UpstreamStream } from './native-h2-upstream-stream.js';
import { StreamIdTable } from './stream-id-table.js';

/** Before the peer's SETTINGS arrive, assume this many streams (RFC 9113 recommends peers allow at least 100). */
const ASSUMED_PEER_STREAMS = 100;
const settings = new Uint32Array(5);

export interface NativeH2SessionOwner {
  /** The session closed or went away (GOAWAY): it takes no new streams. */
  sessionGone(session: NativeH2UpstreamSession): void;
  /** A stream finished, or the stream limit became known: capacity for a waiting request. */
  streamFreed(session: NativeH2UpstreamSession): void;
}

export class NativeH2UpstreamSession implements SocketOwner, H2EventTarget {
  active = 0;
  connected = false;
  /** No new streams (GOAWAY received, closed, or failed). */
  gone = false;
  closed = false;
  /** The last stream id the peer's GOAWAY said it processed; -1 before any GOAWAY. */
  goawayLastStreamId = -1;
  /** The addon's session handle once connected; -1 before. */
  handle = -1;
  private peerStreams = ASSUMED_PEER_STREAMS;
  /** The peer's first SETTINGS arrived: streams go on the wire as they come (nghttp2 queues any past its limit). */
  private settled = false;
  private started = 0;
  private readonly socket: NativeSocket;
  /** Open streams by id. */
  private readonly streams = new StreamIdTable<NativeH2UpstreamStream>();
  /** Streams bound before the connection was up: submitted once it is. */
  private readonly pending: NativeH2UpstreamStream[] = [];
  private readonly events: Int32Array;
  /** connect_timeout covers the HTTP/2 handshake too: an upstream that accepts but never sends SETTINGS fails as a connect failure. */
  private settingsTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly endpoint: UpstreamEndpoint,
    private readonly options: Http2Options,
    private readonly owner: NativeH2SessionOwner,
  ) {
    this.events = h2EventBuffers().events;
    const counters = endpoint.counters;
    counters.cxTotal++;
    counters.cxActive++;
    endpoint.cxActive++;
    endpoint.cluster.connectionOpened();
    this.socket = NativeSocket.connect(endpoint.address, endpoint.port, this, endpoint.connectTimeoutMs);
  }

  /** Streams this session may carry at once now. */
  get capacity(): number {
    return Math.min(this.peerStreams, this.options.maxConcurrentStreams);
  }

  get hasRoom(): boolean {
    return !this.gone && this.active < this.capacity;
  }

  /** A stream was bound to this session: counted against max_requests_per_connection. */
  streamStarted(): void {
    this.active++;
    const max = this.endpoint.maxRequestsPerConnection;
    if (max > 0 && ++this.started >= max) this.gone = true; // closed when its last stream ends (streamDone)
  }

  streamDone(): void {
    this.active--;
    if (this.gone && this.active === 0) this.close();
    else this.owner.streamFreed(this);
  }

  /** The stream is ready to go out: now, or once the peer's SETTINGS told its stream limit. */
  submit(stream: NativeH2UpstreamStream): void {
    if (this.settled) stream.open(this.handle);
    else this.pending.push(stream);
  }

  /** A stream opened on the wire with this id; its records go to it. */
  track(id: number, stream: NativeH2UpstreamStream): void {
    this.streams.set(id, stream);
  }

  untrack(id: number): void {
    this.streams.delete(id);
  }

  /** Its last stream id went out: no new stream (the pool opens another session); closed when its streams end. */
  streamIdsSpent(): void {
    if (this.gone) return;
    this.gone = true;
    this.owner.sessionGone(this);
  }

  /** A pending stream gave up before the connection was up. */
  forget(stream: NativeH2UpstreamStream): void {
    const i = this.pending.indexOf(stream);
    if (i >= 0) this.pending.splice(i, 1);
  }

  close(): void {
    this.gone = true;
    if (this.active > 0 || this.closed) return;
    if (this.handle >= 0) h2cControl(this.handle, 1); // GOAWAY; SESSION_END follows once it is written
    else this.socket.close();
  }

  onSocketConnect(): void {
    settings[0] = this.options.initialStreamWindowSize;
    settings[1] = this.options.initialConnectionWindowSize;
    settings[2] = this.options.maxHeaderListSize;
    settings[3] = Math.min(this.options.maxOutboundFrames, 0xffffffff);
    settings[4] = Math.min(this.options.maxOutboundControlFrames, 0xffffffff);
    const handle = h2cOpen(this.socket.id, settings);
    if (handle < 0) {
      this.socket.close();
      return;
    }
    this.handle = handle;
    this.connected = true;
    setH2Target(handle, this);
    this.socket.setTimeout(this.endpoint.idleTimeoutMs);
    if (this.endpoint.connectTimeoutMs > 0) this.settingsTimer = setTimeout(onSettingsTimeout, timerDelay(this.endpoint.connectTimeoutMs), this);
  }

  settingsTimedOut(): void {
    this.settingsTimer = null;
    if (!this.settled) this.socket.close();
  }

  /**
   * The peer's stream limit is known: as many waiting streams as it allows go out, the rest go back to the pool
   * for another connection. Sent before, the streams past the limit would be refused, and a burst larger than
   * two connections' worth failed with 502 after its one resend.
   */
  private settle(): void {
    this.settled = true;
    if (this.settingsTimer !== null) {
      clearTimeout(this.settingsTimer);
      this.settingsTimer = null;
    }
    const pending = this.pending.splice(0);
    const room = this.capacity;
    for (let i = 0; i < pending.length; i++) {
      if (i < room) pending[i]!.open(this.handle);
      else pending[i]!.moveToAnotherSession();
    }
  }

  onSocketData(buf: Buffer, start: number, end: number): void {
    const ev = this.events;
    while (start < end && !this.closed) {
      const n = h2cReceive(this.handle, buf, start, end);
      const count = h2EventCount();
      for (let i = 0, r = 0; i < count; i++, r += EV.RECORD_INTS) this.onEvent(ev, r, buf);
      if (n <= 0) break;
      start += n;
    }
  }

  onEvent(ev: Int32Array, r: number, input: Buffer): void {
    const code = ev[r + 1]!;
    const kind = code & EV.CODE_MASK;
    const id = ev[r + 2]!;
    if (id === 0) {
      if (kind === EV.SETTINGS) {
        this.peerStreams = ev[r + 3]!;
        if (!this.settled) this.settle();
        if (this.gone && this.active === 0) this.close();
        else this.owner.streamFreed(this); // the real stream limit is known: waiting requests may fit
      } else if (kind === EV.GOAWAY) {
        this.goawayLastStreamId = ev[r + 3]!;
        if (!this.gone) {
          this.gone = true;
          this.owner.sessionGone(this);
        }
      } else if (kind === EV.SESSION_END) {
        if (ev[r + 3]! === 1) this.socket.reset();
        else this.socket.shutdown();
      }
      return;
    }
    this.streams.get(id)?.onEvent(kind, code, ev[r + 3]!, ev[r + 4]!, input);
  }

  onSocketWritable(): void {
    if (this.handle >= 0) h2cControl(this.handle, 0);
  }

  /** idle_timeout: a session quiet that long closes when no stream is open. */
  onSocketTimeout(): void {
    if (this.active === 0) this.close();
  }

  onSocketClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.gone = true;
    if (this.settingsTimer !== null) clearTimeout(this.settingsTimer);
    // Up only once the upstream's SETTINGS came: before, its streams never went out (a connect failure, retriable as one).
    const established = this.settled;
    if (!established) this.endpoint.counters.cxConnectFail++;
    if (this.handle >= 0) {
      setH2Target(this.handle, undefined);
      h2cControl(this.handle, 2);
    }
    const endpoint = this.endpoint;
    endpoint.counters.cxActive--;
    endpoint.cxActive--;
    endpoint.cluster.connectionClosed();
    const open = [...this.pending, ...this.streams.values()];
    this.pending.length = 0;
    this.streams.clear();
    for (const s of open) s.onSessionClosed(established);
    this.owner.sessionGone(this);
  }
}

function onSettingsTimeout(s: NativeH2UpstreamSession): void {
  s.settingsTimedOut();
}
