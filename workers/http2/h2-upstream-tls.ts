// HTTP/2 to an upstream inside TLS: the cluster's UpstreamTlsContext on our
// own transport and TLS engine (the same as HTTP/1.1 origination uses), with
// node:http2's client session running over the plaintext through a
// SocketDuplex. node:http2 starts a session on a duplex at once, so what it
// writes before the handshake is done waits here (bounded), and the session
// counts as connected only once the handshake is: a refused certificate is a
// connect failure, as for HTTP/1.1.
import { connectSocket, type SocketOwner, type TransportSocket } from '../transport-socket.js';
import { openTls, type TlsLink, type TlsOwner } from '../tls-channel.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { SocketDuplex, type DuplexOwner } from './socket-duplex.js';

/** What the session may write before the handshake completes (preface, SETTINGS, the first streams) before it waits. */
const EARLY_BYTES = 256 * 1024;

/** The session the connection reports to. */
export interface H2TlsOwner {
  /** The handshake is done: the connection carries streams. */
  onConnect(): void;
}

export class H2UpstreamTls implements SocketOwner, TlsOwner, DuplexOwner {
  readonly duplex: SocketDuplex;
  private readonly socket: TransportSocket;
  private tls: TlsLink | null = null;
  private closed = false;
  /** Plaintext the session wrote before the handshake completed. */
  private early: Buffer[] | null = [];
  private earlyBytes = 0;

  /** Connects to `endpoint` (its h2Tls must be set); node:http2 gets `duplex`. The session's timer bounds the connect. */
  constructor(
    private readonly endpoint: UpstreamEndpoint,
    private readonly owner: H2TlsOwner,
  ) {
    this.duplex = new SocketDuplex(this, endpoint.address);
    this.socket = connectSocket(endpoint.address, endpoint.port, this, 0);
  }

  // ---- SocketOwner ----

  onSocketConnect(): void {
    const tls = this.endpoint.h2Tls!;
    this.tls = openTls(tls.context, this.socket, this, tls.sni);
    this.tls.start();
  }

  onSocketData(buf: Buffer, start: number, end: number): void {
    this.tls?.receive(buf, start, end);
  }

  onSocketWritable(): void {
    this.duplex.writable_();
  }

  onSocketTimeout(): void {}

  onSocketClose(): void {
    this.closed = true;
    this.tls?.free();
    this.duplex.peerClosed();
  }

  // ---- TlsOwner ----

  onTlsHandshake(): void {
    const early = this.early!;
    this.early = null;
    let ok = true;
    for (const piece of early) ok = this.tls!.write(piece);
    if (ok) this.duplex.writable_();
    this.owner.onConnect();
  }

  onTlsPlaintext(buf: Buffer, start: number, end: number): void {
    this.duplex.feed(buf, start, end);
  }

  onTlsFailure(): void {
    if (this.early !== null) this.endpoint.counters.tlsHandshakeFailures++;
    this.socket.close();
  }

  // ---- DuplexOwner: what the session writes and asks ----

  writeOut(data: Buffer): boolean {
    if (this.closed) return true;
    const early = this.early;
    if (early === null) return this.tls!.write(data);
    early.push(data);
    this.earlyBytes += data.length;
    return this.earlyBytes < EARLY_BYTES; // past it the session waits for writable_ (after the handshake)
  }

  pauseReading(): void {
    if (!this.closed) this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  closeOut(): void {
    if (this.closed) return;
    this.closed = true;
    const tls = this.tls;
    if (tls !== null && tls.handshakeDone && !tls.failed) tls.end();
    else this.socket.close();
  }
}
