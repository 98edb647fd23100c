// One keep-alive HTTP/1.1 connection from a worker's Zipkin reporter to one
// collector endpoint, carrying one report at a time. A new TCP connection per
// report (the reporter's first form) cost the proxy a connect, a socket
// object, a TIME_WAIT and cold (interpreted) net code every 256 spans; this
// connection is opened once and reused while the collector keeps it open.
//
// The collector is a peer like any other: its answer is read only as far as
// the report's outcome and the connection's reuse need. The status line
// decides the report; the head (bounded) and a Content-Length body are read so
// the next report can follow on the same connection. An answer that is not
// whole in hand when its status is known (a slow or dribbling collector), has
// no Content-Length, says `connection: close`, or overflows the head bound
// ends the connection: the next report opens a new one.
import { Buffer } from 'node:buffer';
import { connect, type Socket } from 'node:net';
import { CHUNKED, FLAG, HEAD, decodeChunked, headSlots, parseResponseHead } from '../../src/native.js';

/** Longest answer head read on a kept connection (Zipkin's and Jaeger's 202s have a few hundred bytes). */
export const MAX_ANSWER_HEAD_BYTES = 8192;
/** A kept connection idle this long is closed by the proxy, before a collector's idle timeout (Node's is 5 s) races a report. */
export const IDLE_CLOSE_MS = 4000;
/** The part of the answer that decides a report: `HTTP/1.x NNN`. */
const STATUS_PREFIX_BYTES = 12;

/** What the connection tells its reporter. */
export interface CollectorConnectionOwner {
  /** The report on `conn` ended: its status code (0 = no answer: refused, reset, closed, timed out), and whether any answer byte came. */
  reportEnded(conn: CollectorConnection, status: number, answered: boolean): void;
  /** The connection closed while idle (the reporter forgets it). */
  connectionClosed(conn: CollectorConnection): void;
}

export class CollectorConnection {
  private readonly socket: Socket;
  /** A report is in flight (sent, its status not yet known). */
  private busy = false;
  /** Reports sent on this connection (the second and later ones are on a reused connection). */
  reports = 0;
  /** The answer so far, latin1, up to the end of its head (bounded by MAX_ANSWER_HEAD_BYTES). */
  private head = '';
  private closed = false;

  constructor(
    private readonly owner: CollectorConnectionOwner,
    /** `address:port`: reused only while this endpoint is still in the collector cluster. */
    readonly endpointKey: string,
    address: string,
    port: number,
  ) {
    const socket = connect({ host: address, port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_CLOSE_MS);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.onClose());
    socket.on('close', () => this.onClose());
    socket.on('timeout', () => {
      if (!this.busy) this.socket.destroy();
    });
  }

  /** True while a report is in flight. */
  get inFlight(): boolean {
    return this.busy;
  }

  /** True when the report's bytes have all left the process (its buffer may be reused). */
  get written(): boolean {
    return this.socket.writableLength === 0;
  }

  /** Takes a whole report request (head and body in one buffer); sends it as one write. */
  send(request: Buffer): void {
    this.start();
    this.socket.write(request);
  }

  /** Takes the report head up to the Content-Length value and the body; sends head, length and body corked together. */
  sendParts(headStart: Buffer, body: Buffer): void {
    this.start();
    const socket = this.socket;
    socket.cork();
    socket.write(headStart);
    socket.write(body.length + '\r\n\r\n', 'latin1');
    socket.write(body);
    socket.uncork();
  }

  private start(): void {
    this.busy = true;
    this.reports++;
    this.head = '';
  }

  /** Ends the connection now (shutdown, a report's deadline, an answer that cannot be framed). */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (!this.busy) {
      // Bytes nobody asked for (a second answer, a collector talking out of turn): the connection is not HTTP we can frame.
      this.socket.destroy();
      return;
    }
    // Every path below that sees the end of the head decides the report (finish): a busy connection is always
    // still reading its answer's head.
    const room = MAX_ANSWER_HEAD_BYTES - this.head.length;
    const take = Math.min(chunk.length, room);
    const before = this.head.length;
    this.head += chunk.latin1Slice(0, take);
    const end = this.head.indexOf('\r\n\r\n', Math.max(0, before - 3));
    if (end < 0) {
      if (this.head.length >= MAX_ANSWER_HEAD_BYTES) this.finish(false);
      else if (this.head.length >= STATUS_PREFIX_BYTES) this.finish(false); // status known, the rest not in hand
      return;
    }
    const at = end + 4 - before;
    this.head = this.head.slice(0, end + 4);
    const length = answerBodyLength(this.head);
    const rest = chunk.length - at;
    if (length === CHUNKED_BODY) {
      // Node's http server answers a bodiless 202 as `transfer-encoding: chunked` + `0\r\n\r\n`: reused when the
      // whole chunked body is in this chunk (bounded), else not.
      this.finish(rest <= MAX_ANSWER_HEAD_BYTES && chunkedBodyEndsAt(chunk, at) === chunk.length);
      return;
    }
    // A Content-Length body whole in this chunk and nothing after it: reused; a body still to come, more bytes than
    // it said, no length, `connection: close`, HTTP/1.0 or a head the strict parser refuses: not.
    this.finish(length >= 0 && rest === length);
  }

  /** The answer's status is decided: tells the owner; keeps the connection only when the answer was whole and framed. */
  private finish(reusable: boolean): void {
    if (!this.busy) return;
    this.busy = false;
    const status = statusOf(this.head);
    if (!reusable || status === 0) this.socket.destroy();
    this.owner.reportEnded(this, status, true);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    if (this.busy) {
      this.busy = false;
      const answered = this.head.length > 0;
      this.owner.reportEnded(this, answered ? statusOf(this.head) : 0, answered);
    }
    this.owner.connectionClosed(this);
  }

  /** True once the socket is closed or closing (the reporter opens a new connection). */
  get usable(): boolean {
    return !this.closed && !this.socket.destroyed;
  }
}

/** takes an answer's text; returns its status code, 0 when it does not start with an HTTP/1.x status line. */
function statusOf(answer: string): number {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(answer);
  return m === null ? 0 : Number(m[1]);
}

/** answerBodyLength: the answer's body is chunked. */
const CHUNKED_BODY = -2;
/** Fields read in a collector's answer head (its 202 has a handful). */
const MAX_ANSWER_HEADERS = 64;
const answerHead = new Uint32Array(headSlots(MAX_ANSWER_HEADERS));
const chunkState = new Float64Array(CHUNKED.STATE_SIZE);
const chunkSegments = new Uint32Array(32);

/**
 * takes a complete answer head (latin1); returns its body's length (0 for 204/304), CHUNKED_BODY, or -1 when the
 * connection cannot carry another report after it (the project's strict response parser refuses the head, or it has
 * no length, says `connection: close` or is HTTP/1.0).
 */
function answerBodyLength(head: string): number {
  const buf = Buffer.from(head, 'latin1');
  const out = answerHead;
  if (parseResponseHead(buf, 0, buf.length, out, MAX_ANSWER_HEAD_BYTES, MAX_ANSWER_HEADERS) !== buf.length) return -1;
  const flags = out[HEAD.FLAGS]!;
  if (out[HEAD.VERSION_MINOR] === 0 || (flags & FLAG.CONNECTION_CLOSE) !== 0) return -1;
  const status = out[HEAD.STATUS_CODE]!;
  if (status === 204 || status === 304) return 0;
  if ((flags & FLAG.CHUNKED) !== 0) return CHUNKED_BODY;
  if ((flags & (FLAG.CONTENT_LENGTH | FLAG.TRANSFER_ENCODING)) !== FLAG.CONTENT_LENGTH) return -1;
  return out[HEAD.CONTENT_LENGTH_HI]! * 2 ** 32 + out[HEAD.CONTENT_LENGTH_LO]!;
}

/**
 * takes a read holding a chunked body from `start`; returns the offset just past the body (last chunk, trailers and
 * final CRLF), -1 when the read does not hold a whole, well-formed one (the project's strict chunked decoder decides).
 */
export function chunkedBodyEndsAt(buf: Buffer, start: number): number {
  chunkState.fill(0);
  let at = start;
  for (;;) {
    const n = decodeChunked(buf, at, buf.length, chunkState, chunkSegments);
    if (n < 0) return -1;
    if (chunkState[CHUNKED.PHASE] === CHUNKED.DONE_PHASE) return chunkState[CHUNKED.CONSUMED]!;
    // Fewer data ranges than room: the read ended inside the body.
    if (2 * n < chunkSegments.length) return -1;
    at = chunkState[CHUNKED.CONSUMED]!;
  }
}
