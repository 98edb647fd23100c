// An endpoint's HTTP/2 connections: a request gets a stream on the first
// session with room (its stream limit), a new session when all are full and
// max_connections allows, else waits (max_pending_requests) for a freed
// stream. Circuit breakers count streams as requests (max_requests).
// With the native transport, plaintext endpoints get nghttp2 client sessions
// in the addon (native-h2-upstream-session.ts); others node:http2's.
import { isIP } from 'node:net';
import type { Http2Options } from '../../src/config/http2-options.js';
import { PendingAttempt } from '../pending-attempt.js';
import type { UpstreamAttempt, UpstreamStream } from '../upstream-connection.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { H2UpstreamSession, type H2SessionOwner } from './h2-upstream-session.js';
import { H2UpstreamStream } from './h2-upstream-stream.js';
import { transportKind } from '../transport-socket.js';
import { NativeH2UpstreamSession, type NativeH2SessionOwner } from './native-h2-upstream-session.js';
import { NativeH2UpstreamStream } from './native-h2-upstream-stream.js';

/** ISTHMUS_H2_UPSTREAM=node keeps node:http2 sessions under the native transport (to compare the two in bench/h2-bench.ts). */
const NATIVE_ALLOWED = process.env['ISTHMUS_H2_UPSTREAM'] !== 'node';

type PoolSession = H2UpstreamSession | NativeH2UpstreamSession;
type PoolAttempt = H2UpstreamStream | NativeH2UpstreamStream;

export class H2UpstreamPool implements H2SessionOwner, NativeH2SessionOwner {
  private readonly sessions: PoolSession[] = [];
  /** Streams waiting for room, oldest first (each holds a pending slot). */
  private readonly waiting: PoolAttempt[] = [];
  private closed = false;
  /** Sessions run in the addon (native transport, plaintext, an IP literal the transport can connect to). */
  readonly native: boolean;

  constructor(
    readonly endpoint: UpstreamEndpoint,
    private readonly options: Http2Options,
  ) {
    this.native = NATIVE_ALLOWED && transportKind() === 'native' && endpoint.tls === null && isIP(endpoint.address) !== 0;
  }

  acquire(stream: UpstreamStream): UpstreamAttempt {
    const cluster = this.endpoint.cluster;
    if (!cluster.admitRequest()) return new PendingAttempt(this.endpoint, stream, true);
    const attempt = this.native ? new NativeH2UpstreamStream(this, stream) : new H2UpstreamStream(this, stream);
    this.place(attempt);
    return attempt;
  }

  /** A stream refused unprocessed: placed again (its request slot still held). */
  requeue(attempt: PoolAttempt): void {
    this.place(attempt);
  }

  private place(attempt: PoolAttempt): void {
    const session = this.roomy() ?? this.open();
    if (session !== null) {
      attempt.bind(session as never);
      return;
    }
    if (!this.endpoint.cluster.admitPending()) {
      this.endpoint.cluster.releaseRequest();
      attempt.overflow();
      return;
    }
    this.waiting.push(attempt);
  }

  private roomy(): PoolSession | null {
    for (const s of this.sessions) if (s.hasRoom) return s;
    return null;
  }

  private open(): PoolSession | null {
    if (this.closed) return null;
    if (this.sessions.length > 0 && !this.endpoint.cluster.mayConnect()) return null;
    const s = this.native ? new NativeH2UpstreamSession(this.endpoint, this.options, this) : new H2UpstreamSession(this.endpoint, this.options, this);
    this.sessions.push(s);
    return s;
  }

  /** A waiting stream gave up. */
  cancelWaiting(attempt: PoolAttempt): boolean {
    const i = this.waiting.indexOf(attempt);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.endpoint.cluster.releasePending();
    return true;
  }

  sessionGone(session: PoolSession): void {
    if (session.active === 0 || (session instanceof NativeH2UpstreamSession ? session.closed : session.session.destroyed)) {
      const i = this.sessions.indexOf(session);
      if (i >= 0) this.sessions.splice(i, 1);
    }
    this.serveWaiting();
  }

  streamFreed(session: PoolSession): void {
    if (session.gone && session.active === 0) {
      const i = this.sessions.indexOf(session);
      if (i >= 0) this.sessions.splice(i, 1);
    }
    this.serveWaiting();
  }

  private serveWaiting(): void {
    while (this.waiting.length > 0) {
      const session = this.roomy() ?? this.open();
      if (session === null) return;
      const attempt = this.waiting.shift()!;
      this.endpoint.cluster.releasePending();
      attempt.bind(session as never);
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions) s.close();
  }
}
