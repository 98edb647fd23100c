// What the node:http2 (h2-upstream-stream.ts) and native (native-h2-upstream-stream.ts) upstream streams share as
// the attempt the router holds: reading the router's HTTP/1.1 request (its head, then the body, chunked framing
// decoded), the copy kept to send a refused stream again, the circuit breaker's overflow, and the books kept once
// the stream ends. Each subclass only puts the request on its wire and reads the response from it.
import { UpstreamFailure, type UpstreamStream } from '../upstream-connection.js';
import { sendChunkedPieces } from './chunked-request-pieces.js';
import type { UpstreamTrailerSink } from './h2-upstream-stream.js';

/** Request bytes kept to send again if the stream is refused unprocessed. */
export const RESEND_LIMIT = 1024 * 1024;

/** The session a stream holds a slot on. */
interface StreamSlot {
  streamDone(): void;
}

/** The pool the stream's request is admitted by. */
interface AttemptPool {
  readonly endpoint: { readonly cluster: { releaseRequest(): void } };
}

export abstract class H2UpstreamAttempt<S extends StreamSlot> {
  reused = false;
  responseBytes = 0;
  headRequest = false;
  protected session: S | null = null;
  protected chunked = false;
  /** The request has no body: its HEADERS end the stream. */
  protected bodyless = false;
  /** ChunkedPieceSink: the chunked request body's decoder state, made only when a write needs the decoder. */
  chunkState: Float64Array | null = null;
  protected ended = false;
  protected done = false;
  protected responded = false;
  /** The request so far (head excluded) while it may need sending again; null past RESEND_LIMIT. */
  protected sent: Buffer[] | null = [];
  private sentBytes = 0;
  protected resent = false;
  protected trailers: Record<string, string> | null = null;

  constructor(
    protected readonly pool: AttemptPool,
    protected readonly stream: UpstreamStream & UpstreamTrailerSink,
  ) {}

  /** True once the router's request head was read (kept for a resend). */
  protected abstract get headRead(): boolean;
  /** takes the router's head bytes; keeps the request's HTTP/2 form; returns its length (<= 0: not a head). */
  protected abstract readHead(buf: Buffer): number;
  /** The head was read: the stream goes on the wire (or waits for its session). */
  protected abstract startRequest(): void;
  /** takes a piece of request body data; sends it (keepForResend first); returns false for backpressure. */
  protected abstract send(buf: Buffer): boolean;
  protected abstract fail(failure: number): void;

  /** A circuit breaker refused the stream: 503 UO on the next tick, as PendingAttempt reports it. */
  overflow(): void {
    this.done = true;
    process.nextTick(reportOverflow, this.stream);
  }

  write(data: Buffer | string): boolean {
    if (this.done) return true;
    let buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (!this.headRead) {
      const n = this.readHead(buf);
      if (n <= 0) {
        this.fail(UpstreamFailure.PROTOCOL);
        return true;
      }
      this.startRequest();
      if (n === buf.length || this.done) return true;
      buf = buf.subarray(n);
    }
    if (this.chunked) {
      const sent = sendChunkedPieces(buf, this);
      if (sent === null) this.fail(UpstreamFailure.PROTOCOL);
      return sent ?? true;
    }
    return this.send(buf);
  }

  /** ChunkedPieceSink: one decoded piece of the request body. */
  sendPiece(piece: Buffer): boolean {
    return this.send(piece);
  }

  /** ChunkedPieceSink: the rest of a write is dropped once the stream failed or finished. */
  get stopped(): boolean {
    return this.done;
  }

  /** Keeps a body piece for a resend while the request is within RESEND_LIMIT (past it, nothing is kept). */
  protected keepForResend(buf: Buffer): void {
    if (this.sent === null) return;
    this.sentBytes += buf.length;
    if (this.sentBytes > RESEND_LIMIT) this.sent = null;
    else this.sent.push(buf);
  }

  /** A request's head was read: its body's decoder starts afresh (made again if a write needs it). */
  protected resetChunkState(): void {
    this.chunkState = null;
  }

  failProtocol(): void {
    this.fail(UpstreamFailure.PROTOCOL);
  }

  /** The response ended: trailers (if any), then the end, after the books are closed. */
  protected complete(): void {
    if (this.done || !this.responded) return;
    const trailers = this.trailers;
    this.finishBooks();
    if (trailers !== null && this.stream.onUpstreamTrailers !== undefined) this.stream.onUpstreamTrailers(trailers);
    this.stream.onUpstreamResponseEnd();
  }

  /** Releases the stream's slot on its session and its request in the circuit breakers, once. */
  protected finishBooks(): void {
    this.done = true;
    this.sent = null;
    this.pool.endpoint.cluster.releaseRequest();
    const session = this.session;
    this.session = null;
    if (session !== null) session.streamDone();
  }
}

/** process.nextTick target: fails the attempt as a protocol error. */
export function failProtocol(s: { failProtocol(): void }): void {
  s.failProtocol();
}

function reportOverflow(stream: UpstreamStream): void {
  stream.onUpstreamFailure(UpstreamFailure.OVERFLOW);
}
