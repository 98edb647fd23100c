// The addon's transport (native/socket_io.cc) as TransportSockets: each
// thread initialises it once; every loop turn's events arrive in ONE call
// (dispatch) as records naming a socket id, with read bytes at offsets in
// this thread's read buffer (valid only during the call, as with
// shared-read-buffer.ts).
import { Buffer } from 'node:buffer';
import {
  TRANSPORT_EVENT as EV,
  transportAdopt,
  transportAllowHalfOpen,
  transportClose,
  transportConnect,
  transportInit,
  transportPause,
  transportRemoteAddress,
  transportRemotePort,
  transportReset,
  transportResume,
  transportSetTimeout,
  transportShutdown,
  transportWrite,
  transportWriteRead,
} from '../src/native.js';
import type { SocketOwner, TransportSocket } from './transport-socket.js';

/** Where a TLS socket's events go (native-tls-channel.ts): its DATA is plaintext the addon decrypted. */
export interface NativeTlsEvents {
  onTlsHandshake(): void;
  onTlsData(buf: Buffer, start: number, end: number): void;
  onTlsFailure(): void;
}

const READ_BUFFER_BYTES = 256 * 1024;
const EVENT_RECORDS = 1024;
/** Bytes queued in C++ past which write() answers false (backpressure). */
export const NATIVE_HIGH_WATER_MARK = 64 * 1024;

let readBuffer: Buffer | null = null;
let events: Int32Array = new Int32Array(0);
/** Sockets by id (the addon reuses an id only after its CLOSED record was dispatched). */
const sockets: (NativeSocket | undefined)[] = [];

function ensureInit(): void {
  if (readBuffer !== null) return;
  const buf = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  events = new Int32Array(EVENT_RECORDS * EV.RECORD_INTS);
  transportInit(buf, events, dispatch, NATIVE_HIGH_WATER_MARK);
  readBuffer = buf;
}

/** Whether buf is this thread's read buffer (the one DATA records point into). */
export function isNativeReadBuffer(buf: Buffer): boolean {
  return buf === readBuffer;
}

/** Calls from the addon and records they carried (a test checks that a loop turn's events come in one call). */
export const nativeTransportStats = { dispatches: 0, records: 0 };

function dispatch(count: number): void {
  nativeTransportStats.dispatches++;
  nativeTransportStats.records += count;
  const ev = events;
  const buf = readBuffer!;
  for (let i = 0, r = 0; i < count; i++, r += EV.RECORD_INTS) {
    const s = sockets[ev[r]!];
    if (s === undefined) continue;
    const code = ev[r + 1]!;
    if (code === EV.DATA) {
      if (s.destroyed) continue;
      if (s.tls !== null) s.tls.onTlsData(buf, ev[r + 2]!, ev[r + 2]! + ev[r + 3]!);
      else s.owner.onSocketData(buf, ev[r + 2]!, ev[r + 2]! + ev[r + 3]!);
    } else if (code === EV.CLOSED) {
      sockets[ev[r]!] = undefined;
      s.destroyed = true;
      s.owner.onSocketClose();
    } else if (s.destroyed) {
      continue;
    } else if (code === EV.WRITABLE) {
      s.owner.onSocketWritable();
    } else if (code === EV.CONNECTED) {
      s.owner.onSocketConnect();
    } else if (code === EV.TIMEOUT) {
      s.owner.onSocketTimeout();
    } else if (code === EV.EOF) {
      s.owner.onSocketEnd?.();
    } else if (code === EV.ERROR || code === EV.CONNECT_FAILED) {
      s.lastError = ev[r + 2]!;
    } else if (code === EV.TLS_HANDSHAKE) {
      s.tls?.onTlsHandshake();
    } else if (code === EV.TLS_FAILED) {
      s.tls?.onTlsFailure();
    }
  }
}

export class NativeSocket implements TransportSocket {
  /** close/reset was called, or CLOSED arrived: no more events but CLOSED reach the owner. */
  destroyed = false;
  private paused = false;
  /** errno of the error that closed it, 0 when none. */
  lastError = 0;
  /** Set while the addon runs TLS on this socket (its DATA is plaintext). */
  tls: NativeTlsEvents | null = null;
  private address: string | null = null;
  private port = -1;

  private constructor(
    readonly id: number,
    readonly owner: SocketOwner,
  ) {
    sockets[id] = this;
  }

  /** Takes over an accepted fd (throws when it is not a socket the loop can watch). */
  static accept(fd: number, owner: SocketOwner): NativeSocket {
    ensureInit();
    return new NativeSocket(transportAdopt(fd), owner);
  }

  /** `ip` must be an IP literal (isIP); connectTimeoutMs 0 = none. */
  static connect(ip: string, port: number, owner: SocketOwner, connectTimeoutMs: number): NativeSocket {
    ensureInit();
    return new NativeSocket(transportConnect(ip, port, connectTimeoutMs), owner);
  }

  get remoteAddress(): string {
    if (this.address === null) this.address = transportRemoteAddress(this.id);
    return this.address;
  }

  /** The peer's port (0 once closed); asked only by a log format that shows it. */
  get remotePort(): number {
    if (this.port < 0) this.port = transportRemotePort(this.id);
    return this.port;
  }

  write(data: Buffer | string): boolean {
    return this.destroyed || transportWrite(this.id, data);
  }

  /**
   * `head` (or nothing) then readBuffer[start, end) in one write, copied by the addon only if the kernel does not
   * take it at once: body bytes just read go out without a JS copy. Only during the dispatch that delivered them.
   */
  writeWithRead(head: Buffer | null, start: number, end: number): boolean {
    return this.destroyed || transportWriteRead(this.id, head, start, end);
  }

  /** Several pieces in one writev. */
  writev(data: ReadonlyArray<Buffer | string>): boolean {
    return this.destroyed || transportWrite(this.id, data);
  }

  pause(): void {
    if (this.paused || this.destroyed) return;
    this.paused = true;
    transportPause(this.id);
  }

  resume(): void {
    if (!this.paused || this.destroyed) return;
    this.paused = false;
    transportResume(this.id);
  }

  isPaused(): boolean {
    return this.paused;
  }

  shutdown(): void {
    if (!this.destroyed) transportShutdown(this.id);
  }

  allowHalfOpen(): void {
    if (!this.destroyed) transportAllowHalfOpen(this.id);
  }

  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    transportClose(this.id);
  }

  reset(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    transportReset(this.id);
  }

  setTimeout(ms: number): void {
    if (!this.destroyed) transportSetTimeout(this.id, ms);
  }
}
