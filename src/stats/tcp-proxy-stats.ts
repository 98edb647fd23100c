// tcp_proxy counters as workers report them and /stats/prometheus shows them:
// Istio's TCP metrics per destination cluster and Envoy's tcp.<stat_prefix>.*
// stats per stat prefix. Shared by workers/ (which count) and src/stats (which renders).
import { compareStrings } from './sum-by-key.js';
import type { ConnectionSecurity } from './worker-stats-snapshot.js';

/** One (stat_prefix, cluster) row of one worker; cluster '' when none was chosen (no route). */
export interface TcpProxySeries {
  readonly key: string;
  readonly statPrefix: string;
  readonly cluster: string;
  /** The downstream connection's mTLS peer and policy (Istio's labels); null: unknown (a listener without TLS). */
  readonly security: ConnectionSecurity | null;
  cxOpened: number;
  cxClosed: number;
  /** Bytes read from the downstream (Istio: received during request). */
  rxBytes: number;
  /** Bytes written to the downstream (Istio: sent during response). */
  txBytes: number;
  noRoute: number;
  idleTimeout: number;
  connectAttemptsExceeded: number;
  pausedReading: number;
  resumedReading: number;
}

type Field = Exclude<keyof TcpProxySeries, 'key' | 'statPrefix' | 'cluster' | 'security'>;

const FIELDS: readonly Field[] = [
  'cxOpened', 'cxClosed', 'rxBytes', 'txBytes', 'noRoute', 'idleTimeout', 'connectAttemptsExceeded', 'pausedReading', 'resumedReading',
];

/** Envoy's tcp.<stat_prefix>.* stats, as Prometheus families labelled envoy_tcp_prefix. */
export const ENVOY_TCP_METRICS: readonly { readonly name: string; readonly help: string; readonly field: Field }[] = [
  { name: 'envoy_tcp_downstream_cx_total', help: 'Connections handled by the tcp_proxy.', field: 'cxOpened' },
  { name: 'envoy_tcp_downstream_cx_rx_bytes_total', help: 'Bytes read from downstream connections.', field: 'rxBytes' },
  { name: 'envoy_tcp_downstream_cx_tx_bytes_total', help: 'Bytes written to downstream connections.', field: 'txBytes' },
  { name: 'envoy_tcp_downstream_cx_no_route', help: 'Connections for which no cluster (or no healthy host) was found.', field: 'noRoute' },
  { name: 'envoy_tcp_idle_timeout', help: 'Connections closed by idle_timeout.', field: 'idleTimeout' },
  { name: 'envoy_tcp_upstream_connect_attempts_exceeded', help: 'Connections closed after max_connect_attempts failed connects.', field: 'connectAttemptsExceeded' },
  { name: 'envoy_tcp_downstream_flow_control_paused_reading_total', help: 'Times reading the downstream paused because the upstream was not taking bytes.', field: 'pausedReading' },
  { name: 'envoy_tcp_downstream_flow_control_resumed_reading_total', help: 'Times reading the downstream resumed.', field: 'resumedReading' },
];

/** Istio's TCP metrics (labelled by destination like istio_requests_total). */
export const ISTIO_TCP_METRICS: readonly { readonly name: string; readonly help: string; readonly field: Field }[] = [
  { name: 'istio_tcp_connections_opened_total', help: 'TCP connections opened.', field: 'cxOpened' },
  { name: 'istio_tcp_connections_closed_total', help: 'TCP connections closed.', field: 'cxClosed' },
  { name: 'istio_tcp_received_bytes_total', help: 'Bytes received from the client on TCP connections.', field: 'rxBytes' },
  { name: 'istio_tcp_sent_bytes_total', help: 'Bytes sent to the client on TCP connections.', field: 'txBytes' },
];

/** The series key: stat prefix, cluster and the connection's security labels. */
export function tcpSeriesKey(statPrefix: string, cluster: string, security: ConnectionSecurity | null): string {
  return security === null ? `${statPrefix}\u0000${cluster}`
    : `${statPrefix}\u0000${cluster}\u0000${security.policy}\u0000${security.sourcePrincipal}\u0000${security.destinationPrincipal}`;
}

export function newTcpProxySeries(statPrefix: string, cluster: string, security: ConnectionSecurity | null = null): TcpProxySeries {
  return {
    key: tcpSeriesKey(statPrefix, cluster, security), statPrefix, cluster, security,
    cxOpened: 0, cxClosed: 0, rxBytes: 0, txBytes: 0, noRoute: 0, idleTimeout: 0, connectAttemptsExceeded: 0, pausedReading: 0, resumedReading: 0,
  };
}

function sumRows(
  rows: readonly TcpProxySeries[], keyOf: (r: TcpProxySeries) => string, clusterOf: (r: TcpProxySeries) => string, keepSecurity: boolean,
): TcpProxySeries[] {
  const byKey = new Map<string, TcpProxySeries>();
  for (const r of rows) {
    const key = keyOf(r);
    let into = byKey.get(key);
    if (into === undefined) byKey.set(key, (into = { ...newTcpProxySeries(r.statPrefix, clusterOf(r), keepSecurity ? r.security ?? null : null), key }));
    for (const f of FIELDS) into[f] += r[f];
  }
  return [...byKey.values()].sort((a, b) => compareStrings(a.key, b.key));
}

/** Sums every worker's rows by (stat_prefix, cluster). */
export function mergeTcpProxyStats(perWorker: readonly (readonly TcpProxySeries[] | undefined)[]): TcpProxySeries[] {
  return sumRows(perWorker.flatMap((rows) => rows ?? []), (r) => r.key, (r) => r.cluster, true);
}

/** Sums rows by stat prefix (Envoy's stats do not name the cluster). */
export function tcpStatsByPrefix(rows: readonly TcpProxySeries[]): TcpProxySeries[] {
  return sumRows(rows, (r) => r.statPrefix, () => '', false);
}
