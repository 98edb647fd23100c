// The server side of one client connection: finds request heads with the
// native parser, runs one ActiveRequest at a time (pipelined requests wait
// their turn), routes body bytes to it, and closes when told to or drained.
import type * as net from 'node:net';
import { parseRequestHead } from '../src/native.js';
import { ActiveRequest } from './active-request.js';
import { headOut, parseLimits } from './parse-scratch.js';
import type { WorkerContext } from './worker-context.js';

const END_OF_HEAD = Buffer.from('\r\n\r\n');

export class DownstreamConnection {
  readonly remoteAddress: string;
  /** Bytes received and not yet consumed: a partial head, or the next pipelined request. */
  private buffered: Buffer | null = null;
  /** Where to resume looking for the end of a head that arrives in pieces (keeps trickled heads linear). */
  private scanFrom = 0;
  private request: ActiveRequest | null = null;
  private processing = false;
  private closed = false;
  private ending = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly listenerName: string,
    readonly worker: WorkerContext,
    idleTimeoutMs: number,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    worker.connections.add(this);
    worker.downstreamCxTotal++;
    socket.setNoDelay(true);
    socket.on('data', this.onData.bind(this));
    socket.on('drain', this.onDrain.bind(this));
    socket.on('error', noop);
    socket.on('close', this.onClose.bind(this));
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs);
      socket.on('timeout', this.onIdleTimeout.bind(this));
    }
  }

  get draining(): boolean {
    return this.worker.draining;
  }

  get accessLogEnabled(): boolean {
    return this.worker.accessLog.enabled;
  }

  /** Strings are latin1: every string written here is built from received bytes or ASCII. */
  write(data: Buffer | string): boolean {
    return typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data);
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Closes now if idle, else after the current response (which then says `connection: close`). */
  drain(): void {
    if (this.request === null && !this.processing) this.end();
  }

  private onData(chunk: Buffer): void {
    const req = this.request;
    if (req !== null && req.receivingBody) {
      const used = req.onDownstreamBody(chunk, 0, chunk.length);
      if (used < chunk.length) this.stash(chunk.subarray(used));
      return;
    }
    this.stash(chunk);
    if (req === null) this.processBuffered();
    else if (this.buffered!.length > parseLimits.maxHeadBytes) this.socket.pause(); // pipelining far ahead of us
  }

  private stash(chunk: Buffer): void {
    this.buffered = this.buffered === null ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  private processBuffered(): void {
    this.processing = true;
    while (this.request === null && this.buffered !== null && !this.ending) {
      const buf = this.buffered;
      if (this.scanFrom > 0 && buf.length <= parseLimits.maxHeadBytes && buf.indexOf(END_OF_HEAD, this.scanFrom) < 0) {
        this.scanFrom = Math.max(1, buf.length - 3);
        break;
      }
      const n = parseRequestHead(buf, 0, buf.length, headOut, parseLimits.maxHeadBytes, parseLimits.maxHeaders);
      if (n === 0) {
        this.scanFrom = Math.max(1, buf.length - 3);
        break;
      }
      this.scanFrom = 0;
      const req = new ActiveRequest(this, this.worker.snapshot, this.listenerName);
      this.request = req;
      if (n < 0) {
        this.buffered = null;
        req.rejectMalformed(n);
        break;
      }
      this.buffered = n < buf.length ? buf.subarray(n) : null;
      req.start(buf, n);
      if (this.request === req && req.receivingBody && this.buffered !== null) {
        const rest = this.buffered;
        this.buffered = null;
        const used = req.onDownstreamBody(rest, 0, rest.length);
        if (used < rest.length) this.buffered = rest.subarray(used);
      }
    }
    this.processing = false;
    if (this.request !== null && !this.request.receivingBody && this.buffered !== null) this.socket.pause();
  }

  /** The request finished (response sent, or failed); `close` when the connection cannot carry another. */
  onRequestDone(req: ActiveRequest, close: boolean): void {
    if (this.request !== req) return;
    this.request = null;
    if (close || this.worker.draining) {
      this.end();
      return;
    }
    if (!this.processing && this.buffered !== null) this.processBuffered();
    const next = this.request as ActiveRequest | null; // processBuffered may have started the next one
    if (next === null || next.receivingBody) this.resumeReading();
  }

  private end(): void {
    if (this.ending) return;
    this.ending = true;
    this.buffered = null;
    this.socket.end();
  }

  private onDrain(): void {
    if (this.request !== null) this.request.onDownstreamWritable();
  }

  private onIdleTimeout(): void {
    this.socket.destroy();
  }

  private onClose(): void {
    this.closed = true;
    const req = this.request;
    this.request = null;
    if (req !== null) req.onDownstreamClosed();
    this.worker.connectionClosed(this);
  }
}

function noop(): void {}
