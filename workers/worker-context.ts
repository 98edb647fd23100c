// What every connection of this worker shares: the active config snapshot,
// stats, the access log, the set of open downstream connections (for drain
// and shutdown), and the connection limit with the listeners waiting on it.
import type { AccessLog } from './access-log.js';
import type { AccessLogSinks } from './access-log-sinks.js';
import type { ConnectionLimit } from './connection-limit.js';
import { EMPTY_SNAPSHOT, type DataPlaneSnapshot } from './data-plane-snapshot.js';
import type { DownstreamConnection } from './downstream-connection.js';
import { HttpFilterStats } from './http-filter-stats.js';
import { RequestStats } from './request-stats.js';
import { TcpProxyStatsTable } from './tcp-proxy/tcp-proxy-stats-table.js';
import { WorkerTracing } from './tracing/worker-tracing.js';

/** A listener that stopped accepting for lack of file descriptors. */
export interface PausedAcceptor {
  resumeAccepting(): void;
}

/** While accepting is paused and no connection closes, try again this often (descriptors freed elsewhere). */
const ACCEPT_RETRY_MS = 1000;

export class WorkerContext {
  snapshot: DataPlaneSnapshot = EMPTY_SNAPSHOT;
  readonly stats = new RequestStats();
  /** Fault and CORS counters per listener stat prefix. */
  readonly filterStats = new HttpFilterStats();
  /** tcp_proxy counters per stat prefix and cluster. */
  readonly tcpStats = new TcpProxyStatsTable();
  /** Trace header scratch, counters and Zipkin reporters (tracing/worker-tracing.ts). */
  readonly tracing = new WorkerTracing(() => this.snapshot.clusters);
  readonly connections = new Set<DownstreamConnection>();
  downstreamCxTotal = 0;
  /** Connections closed at accept because the proxy was at --max-connections (Envoy: downstream_global_cx_overflow). */
  downstreamCxOverflow = 0;
  /** Connections closed because no filter chain matched them (Envoy: downstream_cx_no_filter_chain_match... per listener). */
  noFilterChainMatch = 0;
  /** Connections closed because the ClientHello did not arrive within listener_filters_timeout (Envoy: downstream_pre_cx_timeout). */
  listenerFiltersTimeout = 0;
  tlsHandshakes = 0;
  tlsHandshakeFailures = 0;
  /** Times a listener stopped accepting because the process ran out of file descriptors. */
  acceptPausedTotal = 0;
  /** Set on shutdown: every connection closes after its current response. */
  draining = false;
  /** Called when the last connection closes while draining. */
  onIdle: (() => void) | null = null;
  private readonly paused = new Set<PausedAcceptor>();
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly workerId: number,
    readonly accessLog: AccessLog,
    readonly connectionLimit: ConnectionLimit,
    /** Every access-log destination this thread writes (the default one and those configs name). */
    readonly accessLogSinks: AccessLogSinks,
  ) {}

  connectionClosed(conn: DownstreamConnection): void {
    if (this.connections.delete(conn)) this.connectionLimit.release();
    if (this.paused.size > 0) this.resumeAccepting();
    if (this.draining && this.connections.size === 0 && this.onIdle !== null) this.onIdle();
  }

  /** A listener ran out of descriptors: it waits for a connection to close (or the retry timer). */
  acceptPaused(listener: PausedAcceptor): void {
    this.acceptPausedTotal++;
    this.paused.add(listener);
    if (this.retryTimer === null) this.retryTimer = setTimeout(retryAccepting, ACCEPT_RETRY_MS, this);
    this.retryTimer.unref?.();
  }

  /** Listeners that paused try again; one still short of descriptors pauses again at once, at the cost of one accept(). */
  resumeAccepting(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    const waiting = [...this.paused];
    this.paused.clear();
    for (const l of waiting) l.resumeAccepting();
  }

  /** A closed listener must not be resumed. */
  forgetAcceptor(listener: PausedAcceptor): void {
    this.paused.delete(listener);
  }
}

function retryAccepting(worker: WorkerContext): void {
  worker.resumeAccepting();
}
