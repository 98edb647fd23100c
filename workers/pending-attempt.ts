// What a request holds while it cannot have a connection yet: a place in an
// endpoint's queue because the cluster is at max_connections (it waits,
// counted against max_pending_requests, until one of the endpoint's
// connections frees or closes), or a refusal by a circuit breaker, reported
// to the request as an OVERFLOW failure on the next tick (503 UO).
import { UpstreamFailure, type UpstreamAttempt, type UpstreamConnection, type UpstreamStream } from './upstream-connection.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

export class PendingAttempt implements UpstreamAttempt {
  readonly reused = false;
  readonly responseBytes = 0;
  /** The fresh connection made for this request, still connecting; it holds the request from then on. */
  private connecting: UpstreamConnection | null = null;
  private done = false;

  constructor(
    private readonly endpoint: UpstreamEndpoint,
    private readonly stream: UpstreamStream,
    /** Refused: fails with OVERFLOW on the next tick, holding nothing. */
    private readonly overflow: boolean,
  ) {
    if (overflow) process.nextTick(failOverflow, this);
  }

  /** A freed connection for this waiting request: the request's pending slot is given back, its active slot moves to the connection. */
  assign(conn: UpstreamConnection): void {
    this.done = true;
    this.endpoint.cluster.releasePending();
    conn.attach(this.stream, true);
    this.stream.onUpstreamReady(conn);
  }

  /** A new connection for this waiting request; it stays pending until connected (the connection now holds both slots). */
  connectFresh(conn: UpstreamConnection): void {
    this.connecting = conn;
    conn.attach(this.stream, false);
  }

  reportOverflow(): void {
    if (this.done) return;
    this.done = true;
    this.stream.onUpstreamFailure(UpstreamFailure.OVERFLOW);
  }

  write(): boolean {
    return true; // the request queues its bytes until onUpstreamReady
  }

  endRequest(): void {}

  pause(): void {}

  resume(): void {}

  /** The request gave up (client gone, timeout) while waiting. */
  abandon(): void {
    if (this.connecting !== null) {
      this.connecting.abandon();
      return;
    }
    if (this.done) return;
    this.done = true;
    if (!this.overflow) this.endpoint.cancelWaiting(this);
  }
}

function failOverflow(attempt: PendingAttempt): void {
  attempt.reportOverflow();
}
