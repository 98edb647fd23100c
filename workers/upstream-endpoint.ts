// One upstream host:port of a cluster in this worker: its keep-alive
// connection pool and the counters /clusters and the balancers read.
import type { Endpoint } from '../src/config/bootstrap-types.js';
import type { ClusterCounters } from './cluster-counters.js';
import { UpstreamConnection, type UpstreamStream } from './upstream-connection.js';

export class UpstreamEndpoint {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  /** "host:port" for logs; computed once. */
  readonly hostPort: string;
  /** Most recently used last: reuse the warmest connection, let the rest idle out. */
  private readonly idle: UpstreamConnection[] = [];
  rqActive = 0;
  rqTotal = 0;
  rqError = 0;
  cxActive = 0;
  private closed = false;

  constructor(
    endpoint: Endpoint,
    readonly counters: ClusterCounters,
    readonly connectTimeoutMs: number,
  ) {
    this.address = endpoint.address;
    this.port = endpoint.port;
    this.weight = endpoint.weight;
    this.hostPort = endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
  }

  /** Binds `stream` to a pooled connection (synchronously calls onUpstreamReady) or to a new one (calls it once connected). */
  acquire(stream: UpstreamStream): UpstreamConnection {
    const conn = this.idle.pop();
    if (conn !== undefined) {
      this.counters.cxIdle--;
      conn.attach(stream, true);
      stream.onUpstreamReady(conn);
      return conn;
    }
    const fresh = new UpstreamConnection(this);
    fresh.attach(stream, false);
    return fresh;
  }

  /** A connection finished an exchange and may be reused. */
  release(conn: UpstreamConnection): void {
    if (this.closed) {
      conn.destroy();
      return;
    }
    this.idle.push(conn);
    this.counters.cxIdle++;
  }

  /** An idle connection closed or timed out. */
  forget(conn: UpstreamConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) {
      this.idle.splice(i, 1);
      this.counters.cxIdle--;
    }
  }

  /** Config removed this endpoint: close idle connections now, busy ones after their exchange. */
  close(): void {
    this.closed = true;
    const idle = this.idle.splice(0);
    this.counters.cxIdle -= idle.length;
    for (const c of idle) c.destroy();
  }
}
