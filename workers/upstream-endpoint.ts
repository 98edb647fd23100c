// One upstream host:port of a cluster in this worker: its keep-alive
// connection pool, its health and outlier counters (shared with every
// worker), and the counters /clusters and the balancers read. Admission
// through the cluster's circuit breakers happens here, per attempt, as in
// Envoy's connection pool: max_requests first, then an idle connection, a new
// one within max_connections, or a wait in this endpoint's queue counted
// against max_pending_requests.
import type { Endpoint } from '../src/config/bootstrap-types.js';
import { DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS } from '../src/config/common-http-options.js';
import type { ClusterCounters } from './cluster-counters.js';
import type { TlsContextHandle } from '../src/native.js';
import { PendingAttempt } from './pending-attempt.js';
import type { H2UpstreamPool } from './http2/h2-upstream-pool.js';
import type { ClusterState } from './shared-state/cluster-state.js';
import type { EndpointState } from './shared-state/endpoint-state.js';
import { UpstreamConnection, type UpstreamAttempt, type UpstreamStream } from './upstream-connection.js';

export class UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  /** "host:port" for logs; computed once. */
  readonly hostPort: string;
  /** The cluster's circuit breakers (shared by all workers). */
  readonly cluster: ClusterState;
  /** The cluster's TLS origination (set by UpstreamCluster); null = plaintext. */
  tls: { readonly context: TlsContextHandle; readonly sni: string } | null = null;
  /** The same for HTTP/2 connections (its context offers ALPN h2); null = plaintext (h2c). */
  h2Tls: { readonly context: TlsContextHandle; readonly sni: string } | null = null;
  /** Most recently used last: reuse the warmest connection, let the rest idle out. */
  private readonly idle: UpstreamConnection[] = [];
  /** Requests waiting for a connection because the cluster is at max_connections, oldest first. */
  private readonly waiting: PendingAttempt[] = [];
  /** Position in the cluster's config.endpoints, set by UpstreamCluster: the health view and balancer state index by it. */
  index = -1;
  /** The endpoint's HTTP/2 connections when the cluster speaks HTTP/2 upstream (set by UpstreamCluster). */
  h2Pool: H2UpstreamPool | null = null;
  /** HTTP/2 for every request (explicit http2_protocol_options), or only for HTTP/2 downstreams (use_downstream_protocol_config). */
  h2Always = false;
  /** The cluster's idle_timeout, ms (0 = never): a connection with no request for this long is closed (set by UpstreamCluster). */
  idleTimeoutMs = DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS;
  /** The cluster's max_requests_per_connection (0 = no limit): a connection that served this many is closed, not pooled. */
  maxRequestsPerConnection = 0;
  rqActive = 0;
  rqTotal = 0;
  rqError = 0;
  cxActive = 0;
  private closed = false;
  private serveScheduled = false;

  constructor(
    endpoint: Endpoint,
    readonly counters: ClusterCounters,
    readonly connectTimeoutMs: number,
    /** Health flags and outlier counters in the shared state. */
    readonly health: EndpointState,
  ) {
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.weight = endpoint.weight;
    this.hostPort = endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
    this.cluster = health.cluster;
  }

  /**
   * Binds `stream` to a pooled connection (synchronously calls onUpstreamReady), to a new one (calls it once
   * connected), or to a place in the queue; a circuit breaker's refusal reaches the stream as an OVERFLOW failure.
   * `fresh`: never a pooled connection (a request sent again because a pooled one turned out stale).
   */
  acquire(stream: UpstreamStream, fresh = false): UpstreamAttempt {
    if (this.h2Pool !== null && (this.h2Always || stream.downstreamHttp2 === true)) return this.h2Pool.acquire(stream);
    const cluster = this.cluster;
    if (!cluster.admitRequest()) return new PendingAttempt(this, stream, true);
    const conn = fresh ? undefined : this.idle.pop();
    if (conn !== undefined) {
      this.counters.cxIdle--;
      conn.attach(stream, true);
      stream.onUpstreamReady(conn);
      return conn;
    }
    // Envoy's pool: a request waiting for a connection (even one being opened) is pending.
    if (!cluster.admitPending()) {
      cluster.releaseRequest();
      return new PendingAttempt(this, stream, true);
    }
    // At max_connections an endpoint with no connection in this worker still opens one, as Envoy's pool does, so nothing waits forever.
    if (this.cxActive === 0 || cluster.mayConnect()) {
      const fresh = new UpstreamConnection(this);
      fresh.attach(stream, false);
      return fresh;
    }
    const wait = new PendingAttempt(this, stream, false);
    this.waiting.push(wait);
    return wait;
  }

  /** A connection finished an exchange and may be reused. */
  release(conn: UpstreamConnection): void {
    if (this.closed && this.waiting.length === 0) {
      conn.destroy();
      return;
    }
    this.idle.push(conn);
    this.counters.cxIdle++;
    if (this.waiting.length > 0) this.scheduleServe();
  }

  /** An idle connection closed or timed out. */
  forget(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) {
      this.idle.splice(i, 1);
      this.counters.cxIdle--;
    }
  }

  /** One of this endpoint's connections closed: a waiting request may now open one. */
  connectionClosed(): void {
    if (this.waiting.length > 0) this.scheduleServe();
  }

  /** A waiting request gave up: its pending and active slots go back. */
  cancelWaiting(attempt: PendingAttempt): void {
    const i = this.waiting.indexOf(attempt);
    if (i < 0) return;
    this.waiting.splice(i, 1);
    this.cluster.releasePending();
    this.cluster.releaseRequest();
  }

  /** On the next tick (never inside the exchange that just ended): hand freed capacity to waiting requests, oldest first. */
  private scheduleServe(): void {
    if (this.serveScheduled) return;
    this.serveScheduled = true;
    process.nextTick(serveWaiting, this);
  }

  serveWaiting(): void {
    this.serveScheduled = false;
    const waiting = this.waiting;
    while (waiting.length > 0) {
      const conn = this.idle.pop();
      if (conn !== undefined) {
        this.counters.cxIdle--;
        waiting.shift()!.assign(conn);
      } else if (this.cxActive === 0 || this.cluster.belowConnectionLimit()) {
        waiting.shift()!.connectFresh(new UpstreamConnection(this));
      } else {
        return;
      }
    }
    if (this.closed) this.close();
  }

  /** Config removed this endpoint: close idle connections now, busy ones after their exchange (waiting requests are still served). */
  close(): void {
    this.closed = true;
    this.h2Pool?.close();
    if (this.waiting.length > 0) return;
    const idle = this.idle.splice(0);
    this.counters.cxIdle -= idle.length;
    for (const c of idle) c.destroy();
  }
}

function serveWaiting(endpoint: UpstreamEndpoint): void {
  endpoint.serveWaiting();
}
