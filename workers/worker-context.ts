// What every connection of this worker shares: the active config snapshot,
// stats, the access log, and the set of open downstream connections (for
// drain and shutdown).
import type { AccessLog } from './access-log.js';
import { EMPTY_SNAPSHOT, type DataPlaneSnapshot } from './data-plane-snapshot.js';
import type { DownstreamConnection } from './downstream-connection.js';
import { HttpFilterStats } from './http-filter-stats.js';
import { RequestStats } from './request-stats.js';

export class WorkerContext {
  snapshot: DataPlaneSnapshot = EMPTY_SNAPSHOT;
  readonly stats = new RequestStats();
  /** Fault and CORS counters per listener stat prefix. */
  readonly filterStats = new HttpFilterStats();
  readonly connections = new Set<DownstreamConnection>();
  downstreamCxTotal = 0;
  /** Set on shutdown: every connection closes after its current response. */
  draining = false;
  /** Called when the last connection closes while draining. */
  onIdle: (() => void) | null = null;

  constructor(
    readonly workerId: number,
    readonly accessLog: AccessLog,
  ) {}

  connectionClosed(conn: DownstreamConnection): void {
    this.connections.delete(conn);
    if (this.draining && this.connections.size === 0 && this.onIdle !== null) this.onIdle();
  }
}
