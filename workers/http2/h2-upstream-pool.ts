// An endpoint's HTTP/2 connections: a request gets a stream on the first
// session with room (its stream limit), a new session when all are full and
// max_connections allows, else waits (max_pending_requests) for a freed
// stream. Circuit breakers count streams as requests (max_requests).
import type { Http2Options } from '../../src/config/http2-options.js';
import { PendingAttempt } from '../pending-attempt.js';
import type { UpstreamAttempt, UpstreamStream } from '../upstream-connection.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { H2UpstreamSession, type H2SessionOwner } from './h2-upstream-session.js';
import { H2UpstreamStream } from './h2-upstream-stream.js';

export class H2UpstreamPool implements H2SessionOwner {
  private readonly sessions: H2UpstreamSession[] = [];
  /** Streams waiting for room, oldest first (each holds a pending slot). */
  private readonly waiting: H2UpstreamStream[] = [];
  private closed = false;

  constructor(
    readonly endpoint: UpstreamEndpoint,
    private readonly options: Http2Options,
  ) {}

  acquire(stream: UpstreamStream): UpstreamAttempt {
    const cluster = this.endpoint.cluster;
    if (!cluster.admitRequest()) return new PendingAttempt(this.endpoint, stream, true);
    const attempt = new H2UpstreamStream(this, stream);
    this.place(attempt);
    return attempt;
  }

  /** A stream refused unprocessed: placed again (its request slot still held). */
  requeue(attempt: H2UpstreamStream): void {
    this.place(attempt);
  }

  private place(attempt: H2UpstreamStream): void {
    const session = this.roomy() ?? this.open();
    if (session !== null) {
      attempt.bind(session);
      return;
    }
    if (!this.endpoint.cluster.admitPending()) {
      this.endpoint.cluster.releaseRequest();
      attempt.overflow();
      return;
    }
    this.waiting.push(attempt);
  }

  private roomy(): H2UpstreamSession | null {
    for (const s of this.sessions) if (s.hasRoom) return s;
    return null;
  }

  private open(): H2UpstreamSession | null {
    if (this.closed) return null;
    if (this.sessions.length > 0 && !this.endpoint.cluster.mayConnect()) return null;
    const s = new H2UpstreamSession(this.endpoint, this.options, this);
    this.sessions.push(s);
    return s;
  }

  /** A waiting stream gave up. */
  cancelWaiting(attempt: H2UpstreamStream): boolean {
    const i = this.waiting.indexOf(attempt);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    this.endpoint.cluster.releasePending();
    return true;
  }

  sessionGone(session: H2UpstreamSession): void {
    if (session.active === 0 || session.session.destroyed) {
      const i = this.sessions.indexOf(session);
      if (i >= 0) this.sessions.splice(i, 1);
    }
    this.serveWaiting();
  }

  streamFreed(session: H2UpstreamSession): void {
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
      attempt.bind(session);
    }
  }

  close(): void {
    this.closed = true;
    for (const s of this.sessions) s.close();
  }
}
