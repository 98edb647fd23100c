// This worker's tcp_proxy counters, one row per (stat_prefix, cluster), found
// once per connection; the connection bumps fields of its row in place.
import { newTcpProxySeries, type TcpProxySeries } from '../../src/stats/tcp-proxy-stats.js';

export class TcpProxyStatsTable {
  private readonly rows = new Map<string, TcpProxySeries>();

  series(statPrefix: string, cluster: string): TcpProxySeries {
    const key = `${statPrefix}\u0000${cluster}`;
    let row = this.rows.get(key);
    if (row === undefined) this.rows.set(key, (row = newTcpProxySeries(statPrefix, cluster)));
    return row;
  }

  /** Copies of the rows (posted to the agent). */
  snapshot(): TcpProxySeries[] {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
}
