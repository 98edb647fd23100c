// What an H2StreamConnection needs of the HTTP/2 stream under it: the
// native nghttp2 session's (native-h2-session.ts) or node:http2's
// (node-h2-stream.ts, the fallback for --transport node and JS TLS).
import type { TlsCertificateInfo } from '../../src/native.js';
import type { DownstreamConnection } from '../downstream-connection.js';
import type { WorkerContext } from '../worker-context.js';

export interface H2StreamBackend {
  /** The stream is closed (reset, or both sides done). */
  readonly destroyed: boolean;
  /** The request body is still arriving. */
  readonly requestOpen: boolean;
  /** The response head; `withTrailers`: trailers may follow the body. Throws for a head HTTP/2 cannot carry. */
  respond(headers: Record<string, string | string[] | number>, endStream: boolean, withTrailers: boolean): void;
  /** The response head as the HTTP/1.1 head bytes buf[start, end) the request wrote (the native session reads its
   *  fields in C++, making no header object); absent: respond() is used. Throws as respond does. */
  respondHead?(buf: Buffer, start: number, end: number, status: number, endStream: boolean): void;
  /** Body bytes; false: over the stream's buffer limit (the connection's onDrain follows). */
  write(data: Buffer): boolean;
  /** Body bytes data[start, end) copied at once (data may be a shared read buffer); absent: write() is used. */
  writeRange?(data: Buffer, start: number, end: number): boolean;
  /** Ends the response, with trailers when respond promised them. */
  end(trailers: Record<string, string> | null): void;
  /** RST_STREAM with this code. */
  close(code: number): void;
  pause(): void;
  resume(): void;
}

/** What the stream's connection asks of its session. */
export interface H2SessionSide {
  readonly conn: DownstreamConnection;
  readonly worker: WorkerContext;
  readonly listenerName: string;
  readonly remoteAddress: string;
  /** A stream closed before its response completed (rapid-reset accounting; the native session counts in C++). */
  streamResetEarly(): void;
}

export type { TlsCertificateInfo };

/** A downstream connection's HTTP/2 session, native or node:http2: it owns the connection's bytes. */
export interface H2ConnectionSession {
  /** Plaintext from the client, buf[start, end) valid only during the call. */
  receive(buf: Buffer, start: number, end: number): void;
  /** The socket drained after a write answered false. */
  onWritable(): void;
  /** The socket closed. */
  onClosed(): void;
  /** Shutdown or a listener drain: GOAWAY, open streams finish. */
  drain(): void;
}
