// This worker's tcp_proxy counters, one row per (stat_prefix, cluster), found
// once per connection; the connection bumps fields of its row in place.
import { newTcpProxySeries, tcpSeriesKey, type TcpProxySeries } from '../../src/stats/tcp-proxy-stats.js';
import type { ConnectionSecurity } from '../../src/stats/worker-stats-snapshot.js';

export class TcpProxyStatsTable {
  private readonly rows = new Map<string, TcpProxySeries>();

  /** security: the connection's (interned, so the distinct values are bounded); null when unknown. */
  series(statPrefix: string, cluster: string, security: ConnectionSecurity | null = null): TcpProxySeries {
    const key = tcpSeriesKey(statPrefix, cluster, security);
    let row = this.rows.get(key);
    if (row === undefined) this.rows.set(key, (row = newTcpProxySeries(statPrefix, cluster, security)));
    return row;
  }

  /** Copies of the rows (posted to the agent). */
  snapshot(): TcpProxySeries[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
}
