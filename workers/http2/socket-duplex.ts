// A Duplex over a connection's plaintext (a TransportSocket, or TLS over one),
// so node:http2 (nghttp2) can run a session on our transports: bytes read are
// pushed in (reading pauses while the session's buffer is full), bytes the
// session writes go out through the owner (the session waits while the
// socket's buffer is full). Both directions are bounded by those waits.
import { Duplex } from 'node:stream';

export interface DuplexOwner {
  /** false: the socket is full; onWritable() comes when it drains. */
  writeOut(data: Buffer): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** The session is done with the connection. */
  closeOut(): void;
}

/** Gathered bytes past this are written at once. */
const FLUSH_BYTES = 64 * 1024;
/** What may be written past a full socket before the session waits for it to drain. */
const UNACKED_LIMIT = 256 * 1024;

export class SocketDuplex extends Duplex {
  private waitingWrite: ((error?: Error | null) => void) | null = null;
  private readPaused = false;
  /** Frames written this tick, sent together by flush(). */
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** The socket's buffer is full: the session's writes wait for writable_(). */
  private blocked = false;
  /** Bytes written since the socket last drained while it reported itself full. */
  private unacked = 0;
  readonly remoteAddress: string;
  readonly remotePort = 0;

  constructor(
    private readonly owner: DuplexOwner,
    remoteAddress: string,
  ) {
    // The high water mark bounds what is read ahead of nghttp2.
    super({ readableHighWaterMark: 64 * 1024, writableHighWaterMark: 64 * 1024, allowHalfOpen: false });
    this.remoteAddress = remoteAddress;
  }

  /** Bytes from the peer (copied: the read buffer is shared). */
  feed(buf: Buffer, start: number, end: number): void {
    if (this.destroyed) return;
    const copy = Buffer.allocUnsafe(end - start);
    buf.copy(copy, 0, start, end);
    if (!this.push(copy) && !this.readPaused) {
      this.readPaused = true;
      this.owner.pauseReading();
    }
  }

  /** The peer closed (or the socket went away). */
  peerClosed(): void {
    if (!this.destroyed) this.destroy();
  }

  /** The socket drained: the session may write again. */
  writable_(): void {
    this.blocked = false;
    this.unacked = 0;
    const cb = this.waitingWrite;
    if (cb !== null) {
      this.waitingWrite = null;
      cb();
    }
  }

  override _read(): void {
    if (this.readPaused) {
      this.readPaused = false;
      this.owner.resumeReading();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    // nghttp2 writes a frame or two per call: gathered until the end of this tick, one socket write for all.
    this.out.push(chunk);
    this.outBytes += chunk.length;
    if (this.outBytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushDuplex, this);
    }
    if (this.blocked) this.waitingWrite = callback;
    else callback();
  }

  /** Writes what was gathered; the socket being full holds the session's next write until it drains. */
  flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (out.length === 0 || this.destroyed) return;
    const joined = out.length === 1 ? out[0]! : Buffer.concat(out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    if (this.owner.writeOut(joined)) return;
    // The socket is past its high-water mark (often true of a write not yet completed, however small): the
    // session goes on until UNACKED_LIMIT bytes went out since the last drain, then waits for it. Waiting at
    // every false would cost an event-loop turn per write.
    this.unacked += joined.length;
    if (this.unacked > UNACKED_LIMIT) this.blocked = true;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    this.owner.closeOut();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const cb = this.waitingWrite;
    this.waitingWrite = null;
    if (cb !== null) cb(error ?? new Error('closed'));
    this.owner.closeOut();
    callback(error);
  }

  // What node:http2 may ask of a net.Socket.
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setTimeout(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

function flushDuplex(d: SocketDuplex): void {
  d.flush();
}
