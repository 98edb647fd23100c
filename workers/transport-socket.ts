// What DownstreamConnection and UpstreamConnection need from a socket, so
// that either transport can sit under them: Node's net (NodeSocket, here) or
// the addon's (NativeSocket, native-transport.ts). Events go to one owner
// object's methods, not to listeners: no closure per connection.
import * as net from 'node:net';
import { isIP } from 'node:net';
import { NativeSocket } from './native-transport.js';
import { readAcceptedSocket, sharedReadOption } from './shared-read-buffer.js';
import { timerDelay } from '../src/timer-delay.js';

/** The connection a socket reports to. */
export interface SocketOwner {
  /** buf[start, end) arrived; valid only during this call (the shared-read-buffer rule: copy to keep). */
  onSocketData(buf: Buffer, start: number, end: number): void;
  /** An outgoing connection is established. */
  onSocketConnect(): void;
  /** A write that returned false has drained. */
  onSocketWritable(): void;
  /** No bytes either way for the idle timeout. */
  onSocketTimeout(): void;
  /** The peer half-closed (FIN); reported only to owners that define it (tcp_proxy, after allowHalfOpen). */
  onSocketEnd?(): void;
  /** Last event: the socket is closed (after an error, a reset, end of both sides, or close()). */
  onSocketClose(): void;
}

export interface TransportSocket {
  readonly remoteAddress: string;
  /** The peer's port, where the transport knows it (the access log's DOWNSTREAM_REMOTE_ADDRESS). */
  readonly remotePort?: number;
  /** Strings are latin1. false: wait for onSocketWritable before writing more. */
  write(data: Buffer | string): boolean;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  /** Half-close after what is queued; closes once the peer has ended too. */
  shutdown(): void;
  /** From now on the peer's FIN only ends reading (onSocketEnd): our side stays open until shutdown(). */
  allowHalfOpen(): void;
  /** Close now, dropping what is queued. */
  close(): void;
  /** Close with a TCP reset (SO_LINGER 0). */
  reset(): void;
  /** Idle timeout in ms, 0 = none. */
  setTimeout(ms: number): void;
}

export type TransportKind = 'node' | 'native';

let kind: TransportKind = 'node';

/** --transport: which transport this thread's new connections use. */
export function setTransportKind(k: TransportKind): void {
  kind = k;
}

export function transportKind(): TransportKind {
  return kind;
}

/** Wraps an accepted fd in this thread's transport; throws when it is not a usable socket (the fd stays open). */
export function acceptSocket(fd: number, owner: SocketOwner): TransportSocket {
  return kind === 'native' ? NativeSocket.accept(fd, owner) : NodeSocket.accept(fd, owner);
}

/** Connects with this thread's transport (Node's for a host name: the addon takes IP literals only); connectTimeoutMs 0 = none. */
export function connectSocket(host: string, port: number, owner: SocketOwner, connectTimeoutMs: number): TransportSocket {
  if (kind === 'native' && isIP(host) !== 0) return NativeSocket.connect(host, port, owner, connectTimeoutMs);
  return NodeSocket.connect(host, port, owner, connectTimeoutMs);
}

/** A socket of Node's net module, reading into the shared read buffer. */
export class NodeSocket implements TransportSocket {
  private connectTimer: NodeJS.Timeout | null = null;
  /** The owner paused reading. */
  private ownerPaused = false;
  /** TLS stopped reading until the write queue drains (gateReadsUntilDrained). */
  private gated = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly owner: SocketOwner,
  ) {
    socket.on('connect', this.onConnect.bind(this));
    socket.on('drain', this.onDrain.bind(this));
    socket.on('error', noop);
    socket.on('close', this.onClose.bind(this));
    socket.on('timeout', owner.onSocketTimeout.bind(owner));
    if (owner.onSocketEnd !== undefined) socket.on('end', owner.onSocketEnd.bind(owner));
  }

  private onConnect(): void {
    this.clearConnectTimer();
    this.owner.onSocketConnect();
  }

  private onDrain(): void {
    if (this.gated) {
      this.gated = false;
      if (!this.ownerPaused) this.socket.resume();
    }
    this.owner.onSocketWritable();
  }

  private onClose(): void {
    this.clearConnectTimer();
    this.owner.onSocketClose();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) {
      clearTimeout(this.connectTimer);
      this.connectTimer = null;
    }
  }

  /** connect_timeout elapsed before the connection was established. */
  connectTimedOut(): void {
    this.connectTimer = null;
    this.socket.destroy();
  }

  /** Wraps an accepted fd; throws when it is not a usable socket. */
  static accept(fd: number, owner: SocketOwner): NodeSocket {
    const socket = new net.Socket({ fd, readable: true, writable: true });
    socket.setNoDelay(true);
    const s = new NodeSocket(socket, owner);
    readAcceptedSocket(socket, (nread, buf) => owner.onSocketData(buf, 0, nread));
    return s;
  }

  static connect(host: string, port: number, owner: SocketOwner, connectTimeoutMs: number): NodeSocket {
    const socket = net.connect({ host, port, noDelay: true, onread: sharedReadOption((nread, buf) => owner.onSocketData(buf, 0, nread)) });
    const s = new NodeSocket(socket, owner);
    if (connectTimeoutMs > 0) s.connectTimer = setTimeout(onConnectTimeout, timerDelay(connectTimeoutMs), s);
    return s;
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  write(data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  pause(): void {
    this.ownerPaused = true;
    this.socket.pause();
  }

  resume(): void {
    this.ownerPaused = false;
    if (!this.gated) this.socket.resume();
  }

  isPaused(): boolean {
    return this.ownerPaused;
  }

  /** Bytes written and not yet taken by the kernel. */
  queuedBytes(): number {
    return this.socket.writableLength;
  }

  /**
   * Stops reading until what is queued drains, whatever the owner's pause state says: TLS calls it when the peer
   * makes the session write (alerts, KeyUpdates) and does not read that output (tls-channel.ts).
   */
  gateReadsUntilDrained(): void {
    if (this.gated || this.socket.writableLength === 0) return;
    this.gated = true;
    this.socket.pause();
  }

  shutdown(): void {
    this.socket.end();
  }

  allowHalfOpen(): void {
    // Read when the readable side ends (Duplex's end handling), so it may be set after construction.
    this.socket.allowHalfOpen = true;
  }

  close(): void {
    this.socket.destroy();
  }

  reset(): void {
    this.socket.resetAndDestroy();
  }

  setTimeout(ms: number): void {
    this.socket.setTimeout(timerDelay(ms));
  }
}

function onConnectTimeout(s: NodeSocket): void {
  s.connectTimedOut();
}

function noop(): void {}
