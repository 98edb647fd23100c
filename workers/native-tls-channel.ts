// TLS on the native transport: the session lives in the addon beside the
// socket (native/socket_tls.cc), so reads arrive here as plaintext and writes
// leave as plaintext; JS sees the handshake's end and a failure as events.
// Ciphertext reaches JS only when the tls_inspector peeked at the ClientHello
// (those bytes are handed back with receive()).
import {
  transportStartTls, transportTlsError, transportTlsFeed, transportTlsPeer, type TlsContextHandle, type TlsPeer,
  type TlsSanMatcher,
} from '../src/native.js';
import type { NativeSocket, NativeTlsEvents } from './native-transport.js';
import type { TlsLink, TlsOwner } from './tls-channel.js';

export class NativeTlsChannel implements TlsLink, NativeTlsEvents {
  handshakeDone = false;
  failed = false;
  peer: TlsPeer | null = null;

  /** The session starts now: the socket's next reads are decrypted; a client (a connected socket) sends its ClientHello. */
  constructor(
    context: TlsContextHandle,
    private readonly socket: NativeSocket,
    private readonly owner: TlsOwner,
    serverName: string,
    expectedSan: TlsSanMatcher | undefined,
  ) {
    socket.tls = this;
    if (!socket.destroyed) transportStartTls(socket.id, context, serverName, expectedSan);
  }

  /** The ClientHello already left (constructor). */
  start(): void {}

  receive(buf: Buffer, start: number, end: number): void {
    if (!this.socket.destroyed) transportTlsFeed(this.socket.id, buf, start, end);
  }

  write(data: Buffer | string): boolean {
    if (this.failed || !this.handshakeDone) return true;
    return this.socket.write(data);
  }

  /** head then readBuffer[start, end) as plaintext (see NativeSocket.writeWithRead): one record when small. */
  writeWithRead(head: Buffer | null, start: number, end: number): boolean {
    if (this.failed || !this.handshakeDone) return true;
    return this.socket.writeWithRead(head, start, end);
  }

  end(): void {
    // The addon sends close_notify before the half-close.
    this.socket.shutdown();
  }

  free(): void {
    this.socket.tls = null;
  }

  onTlsHandshake(): void {
    this.handshakeDone = true;
    this.peer = transportTlsPeer(this.socket.id);
    this.owner.onTlsHandshake();
  }

  onTlsData(buf: Buffer, start: number, end: number): void {
    this.owner.onTlsPlaintext(buf, start, end);
  }

  onTlsFailure(): void {
    this.failed = true;
    this.owner.onTlsFailure(transportTlsError(this.socket.id));
  }
}
