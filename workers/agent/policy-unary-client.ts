// The agent's Mixer Check RPC on node:http2 directly, not through
// @grpc/grpc-js. Measured with `npm run bench:mixer` (`proxy` against
// `proxy-grpc-js`, same run, medians of 3 on a loaded 2-core machine): a
// Check through grpc-js's client cost the agent 299-325 µs of CPU (its call
// stack, interceptors, metadata and status objects, a deadline timer per
// call), this path 206-220 µs; an agent short of CPU queues Checks, and that
// queue is the Check latency a request sees. A unary call is one HTTP/2 stream: request headers, the
// message behind a 5-byte prefix, then the answer's headers, one framed
// message and trailers with grpc-status (or a trailers-only answer). This
// client sends that and nothing else, with the service's own protobuf codec
// (the same functions grpc-js would call). The session is opened on first
// use and replaced when it closes or receives GOAWAY; a call that cannot be
// sent or answered fails with UNAVAILABLE (14), one past its deadline with
// DEADLINE_EXCEEDED (4), so the caller's retry and fail policy apply as
// before. Answers are bounded (MAX_ANSWER).
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import { H2 as h2, nodeHttp2 } from '../../src/node-http2.js';
import { formatGrpcTimeout } from '../http2/grpc-timeout.js';

/** The largest answer accepted (a Check answer is a few hundred bytes; grpc-js's default limit is 4 MiB). */
export const MAX_ANSWER = 4 * 1024 * 1024;

/** Node's timers hold at most this (a longer one fires after 1 ms): a longer check_timeout waits this long (~24.8 days). */
const MAX_TIMER_MS = 0x7fffffff;

export const GRPC_UNAVAILABLE = 14;
export const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_INTERNAL = 13;
const GRPC_UNKNOWN = 2;

export interface UnaryError {
  readonly code: number;
  readonly details: string;
  /** The server gave no gRPC status (no connection, a reset stream, a lost session): UNAVAILABLE from the client. */
  readonly noAnswer?: boolean;
}

export type UnaryDone = (error: UnaryError | null, answer?: Buffer) => void;

/** One HTTP/2 connection to a gRPC server, for unary calls with serialized messages. */
export class PolicyUnaryClient {
  private session: ClientHttp2Session | null = null;
  private closed = false;
  private readonly authority: string;
  private readonly url: string;

  /** takes `host:port` and, for TLS, the CA (PEM) the server's certificate must chain to (null: plaintext). */
  constructor(readonly address: string, private readonly ca: Buffer | null) {
    this.authority = address;
    this.url = `${ca === null ? 'http' : 'https'}://${address}`;
  }

  /** takes the method path, the serialized request and a timeout; calls done once with the serialized answer or an error. */
  call(path: string, message: Buffer, timeoutMs: number, done: UnaryDone): void {
    const framed = Buffer.allocUnsafe(5 + message.length);
    framed[0] = 0;
    framed.writeUInt32BE(message.length, 1);
    message.copy(framed, 5);
    this.callFramed(path, framed, timeoutMs, done);
  }

  /** As call, with the request already behind its 5-byte gRPC prefix (a Report batch is built so: no copy here). */
  callFramed(path: string, framed: Buffer, timeoutMs: number, done: UnaryDone): void {
    if (this.closed) {
      done({ code: GRPC_UNAVAILABLE, details: 'client closed', noAnswer: true });
      return;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = this.currentSession().request({
        [h2.HTTP2_HEADER_METHOD]: 'POST',
        [h2.HTTP2_HEADER_PATH]: path,
        [h2.HTTP2_HEADER_AUTHORITY]: this.authority,
        [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
        [h2.HTTP2_HEADER_TE]: 'trailers',
        'grpc-timeout': formatGrpcTimeout(timeoutMs),
        'grpc-accept-encoding': 'identity',
      });
    } catch (err) {
      this.drop();
      done({ code: GRPC_UNAVAILABLE, details: `cannot start a call: ${(err as Error).message}`, noAnswer: true });
      return;
    }
    new UnaryCall(stream, timeoutMs, done).send(framed);
  }

  close(): void {
    this.closed = true;
    this.drop();
  }

  private currentSession(): ClientHttp2Session {
    const live = this.session;
    if (live !== null && !live.closed && !live.destroyed) return live;
    const session = nodeHttp2().connect(this.url, this.ca === null ? {} : { ca: this.ca });
    session.on('error', () => this.forget(session)); // its streams close with an error: each call answers UNAVAILABLE
    session.on('goaway', () => this.forget(session)); // new calls go to a new session; the ones in flight finish
    session.on('close', () => this.forget(session));
    session.unref(); // an idle policy channel does not keep the process alive (as grpc-js's does not)
    this.session = session;
    return session;
  }

  private forget(session: ClientHttp2Session): void {
    if (this.session === session) this.session = null;
  }

  private drop(): void {
    const s = this.session;
    this.session = null;
    if (s !== null && !s.destroyed) s.destroy();
  }
}

/** Where a call's stream keeps its call for the shared listeners below. */
const CALL = Symbol('policyUnaryCall');
type CallStream = ClientHttp2Stream & { [CALL]: UnaryCall };

function onCallHeaders(this: CallStream, headers: IncomingHttpHeaders): void {
  this[CALL].onHeaders(headers);
}

function onCallTrailers(this: CallStream, trailers: IncomingHttpHeaders): void {
  this[CALL].onStatus(trailers);
}

function onCallData(this: CallStream, chunk: Buffer): void {
  this[CALL].onData(chunk);
}

function onCallClose(this: CallStream): void {
  this[CALL].onClose();
}

function expireCall(call: UnaryCall): void {
  call.expire();
}

/** One call on its stream: the answer's frames gathered (bounded), grpc-status read from trailers or headers. */
class UnaryCall {
  private chunks: Buffer[] = [];
  private received = 0;
  private status = -1;
  private message = '';
  private httpStatus = 0;
  private finished = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stream: ClientHttp2Stream,
    timeoutMs: number,
    private readonly done: UnaryDone,
  ) {
    // No closures per call: the stream's listeners are module functions that find the call on the stream.
    this.timer = setTimeout(expireCall, Math.min(timeoutMs, MAX_TIMER_MS), this);
    (stream as CallStream)[CALL] = this;
    stream.on('response', onCallHeaders);
    stream.on('trailers', onCallTrailers);
    stream.on('data', onCallData);
    stream.on('error', ignore); // 'close' follows and says how it ended
    stream.on('close', onCallClose);
  }

  send(framed: Buffer): void {
    this.stream.end(framed);
  }

  onHeaders(headers: IncomingHttpHeaders): void {
    this.httpStatus = Number(headers[h2.HTTP2_HEADER_STATUS]);
    this.onStatus(headers); // a trailers-only answer carries grpc-status here
  }

  onStatus(headers: IncomingHttpHeaders): void {
    const status = headers['grpc-status'];
    if (typeof status !== 'string') return;
    // As grpc-js reads it: a code outside 0-16 (or not a number) is UNKNOWN.
    const code = Number(status);
    this.status = Number.isInteger(code) && code >= 0 && code <= 16 ? code : GRPC_UNKNOWN;
    const message = headers['grpc-message'];
    if (typeof message === 'string') this.message = decodeMessage(message);
  }

  onData(chunk: Buffer): void {
    if (this.finished) return;
    this.received += chunk.length;
    if (this.received > MAX_ANSWER + 5) {
      this.finish({ code: GRPC_RESOURCE_EXHAUSTED, details: `answer larger than ${MAX_ANSWER} bytes` });
      this.stream.close(h2.NGHTTP2_CANCEL);
      return;
    }
    this.chunks.push(chunk);
  }

  onClose(): void {
    if (this.finished) return;
    if (this.status < 0) {
      const rst = this.stream.rstCode;
      const why = this.httpStatus !== 0 && this.httpStatus !== 200 ? `HTTP status ${this.httpStatus}` : rst !== undefined && rst !== h2.NGHTTP2_NO_ERROR ? `stream reset (code ${rst})` : 'no grpc-status';
      this.finish(this.httpStatus !== 0 && this.httpStatus !== 200 ? { code: GRPC_UNKNOWN, details: why } : { code: GRPC_UNAVAILABLE, details: why, noAnswer: this.httpStatus === 0 });
      return;
    }
    if (this.status !== 0) {
      // A status without grpc-message still says what the server answered (not the caller's "no answer").
      this.finish({ code: this.status, details: this.message !== '' ? this.message : `grpc-status ${this.status}` });
      return;
    }
    const body = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.received);
    this.chunks = [];
    if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
      this.finish({ code: GRPC_INTERNAL, details: body.length >= 5 && body[0] !== 0 ? 'compressed answer (identity was asked)' : 'the answer is not one whole message' });
      return;
    }
    this.finish(null, body.subarray(5));
  }

  expire(): void {
    if (this.finished) return;
    this.finish({ code: GRPC_DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
    if (!this.stream.destroyed) this.stream.close(h2.NGHTTP2_CANCEL);
  }

  private finish(error: UnaryError | null, answer?: Buffer): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.done(error, answer);
  }
}

function ignore(): void {}

/** grpc-message is percent-encoded; a malformed one is shown as sent. */
function decodeMessage(text: string): string {
  try {
    return decodeURIComponent(text).slice(0, 1024);
  } catch {
    return text.slice(0, 1024);
  }
}
