// TLS for a connection, whichever transport carries it (openTls picks): on
// the native transport the session lives in the addon beside the socket
// (native-tls-channel.ts) and only plaintext reaches JS; on Node's net
// (TlsChannel, here) ciphertext read from the socket goes through the
// engine, plaintext comes back in one scratch buffer and goes to the owner in
// the same call, and whatever the engine has to send (handshake flights,
// alerts, tickets, records) is written to the socket. The owner keeps its
// plaintext-only logic unchanged.
import {
  TLS_STATUS, tlsCreateSession, tlsSessionError, tlsSessionFeed, tlsSessionFree, tlsSessionPeer, tlsSessionShutdown,
  tlsSessionTakeCiphertext, tlsSessionWrite, type TlsContextHandle, type TlsPeer, type TlsSanMatcher, type TlsSessionHandle,
} from '../src/native.js';
import { NativeSocket } from './native-transport.js';
import { NativeTlsChannel } from './native-tls-channel.js';
import type { NodeSocket, TransportSocket } from './transport-socket.js';

/** Plaintext of one read, valid only during onTlsPlaintext (like the shared read buffer; keep = copy). */
const plaintext = Buffer.allocUnsafe(64 * 1024);
const state = new Uint32Array(2);
/**
 * What the session wrote on its own while reading (alerts, handshake flights, KeyUpdates) and the socket still
 * holds, past which the peer is not read until the queue drains: a peer that provokes such output (TLS 1.2
 * renegotiation requests, each answered by an alert) and never reads would otherwise grow the queue by about a
 * byte per byte it sends, unseen by the owner's backpressure, which only counts what the owner writes. The native
 * transport does the same in C++ (socket_tls.cc).
 */
const UNASKED_OUTPUT_LIMIT = 64 * 1024;

export interface TlsOwner {
  /** The handshake completed; channel.peer is set. */
  onTlsHandshake(): void;
  /** buf[start, end) is plaintext from the peer, valid only during this call. */
  onTlsPlaintext(buf: Buffer, start: number, end: number): void;
  /** The session failed (bad handshake, bad record, refused certificate); the alert has been queued to the socket. */
  onTlsFailure(reason: string): void;
}

/** One connection's TLS, as its owner drives it. */
export interface TlsLink {
  readonly handshakeDone: boolean;
  readonly failed: boolean;
  /** Set once the handshake has completed. */
  readonly peer: TlsPeer | null;
  /** Client: sends the ClientHello (call once the socket is connected). */
  start(): void;
  /** Ciphertext buf[start, end) JS holds: every read on Node's net; on the native transport only the bytes the
   *  tls_inspector peeked at (later reads are decrypted in the addon). */
  receive(buf: Buffer, start: number, end: number): void;
  /** Encrypts and writes; false when the socket's buffer is full (wait for onSocketWritable). Strings are latin1. */
  write(data: Buffer | string): boolean;
  /** Sends close_notify, then ends the socket. */
  end(): void;
  /** The socket closed: frees the session. */
  free(): void;
}

/** TLS over `socket` with `context`; serverName and expectedSan apply to clients only. */
export function openTls(
  context: TlsContextHandle, socket: TransportSocket, owner: TlsOwner, serverName = '', expectedSan?: TlsSanMatcher,
): TlsLink {
  if (socket instanceof NativeSocket) return new NativeTlsChannel(context, socket, owner, serverName, expectedSan);
  return new TlsChannel(context, socket as NodeSocket, owner, serverName, expectedSan);
}

export class TlsChannel implements TlsLink {
  private readonly session: TlsSessionHandle;
  private freed = false;
  /** Session-made bytes written since the socket's queue was last seen empty (UNASKED_OUTPUT_LIMIT). */
  private unasked = 0;
  handshakeDone = false;
  failed = false;
  peer: TlsPeer | null = null;

  /** A client sends its ClientHello at once; serverName and expectedSan apply to clients only. */
  constructor(
    context: TlsContextHandle,
    private readonly socket: NodeSocket,
    private readonly owner: TlsOwner,
    serverName = '',
    expectedSan?: TlsSanMatcher,
  ) {
    this.session = tlsCreateSession(context, serverName, expectedSan);
  }

  /** Client: writes the ClientHello (call once the socket is connected). */
  start(): void {
    this.receive(plaintext, 0, 0);
  }

  /** Ciphertext buf[start, end) from the socket. */
  receive(buf: Buffer, start: number, end: number): void {
    let from = start;
    for (;;) {
      if (this.freed || this.failed) return;
      const n = tlsSessionFeed(this.session, buf, from, end, plaintext, 0, state);
      from = end;
      const status = state[0]!;
      if (state[1]! > 0) this.flush();
      if (!this.handshakeDone && (status & TLS_STATUS.HANDSHAKE_DONE) !== 0) {
        this.handshakeDone = true;
        this.peer = tlsSessionPeer(this.session);
        this.owner.onTlsHandshake();
        if (this.freed) return;
      }
      if (n > 0) {
        this.owner.onTlsPlaintext(plaintext, 0, n);
        if (this.freed) return;
      }
      if ((status & TLS_STATUS.FAILED) !== 0) {
        this.failed = true;
        this.owner.onTlsFailure(tlsSessionError(this.session));
        return;
      }
      if ((status & TLS_STATUS.PLAINTEXT_PENDING) === 0) return;
    }
  }

  /** Encrypts and writes; false when the socket's buffer is full (wait for onSocketWritable). Strings are latin1. */
  write(data: Buffer | string): boolean {
    if (this.freed || this.failed || !this.handshakeDone) return true;
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const out = tlsSessionWrite(this.session, buf, 0, buf.length);
    return out === null ? true : this.socket.write(out);
  }

  /** Sends close_notify, then ends the socket. */
  end(): void {
    if (!this.freed && !this.failed) {
      const out = tlsSessionShutdown(this.session);
      if (out !== null) this.socket.write(out);
    }
    this.socket.shutdown();
  }

  /** Frees the engine's session (the socket closed). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    tlsSessionFree(this.session);
  }

  /** Writes what the session made while reading (counted against UNASKED_OUTPUT_LIMIT). */
  private flush(): void {
    const out = tlsSessionTakeCiphertext(this.session);
    // After free() the socket has closed: nothing more goes to it.
    if (out === null || this.freed) return;
    if (this.socket.queuedBytes() === 0) this.unasked = 0;
    if (this.socket.write(out)) return;
    this.unasked += out.length;
    if (this.unasked > UNASKED_OUTPUT_LIMIT) this.socket.gateReadsUntilDrained();
  }
}
