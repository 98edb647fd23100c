// Renders the proxy's merged stats in the Prometheus text exposition format
// 0.0.4, with Istio's standard metric and label names for request metrics and
// Envoy's names for upstream cluster gauges, so existing dashboards work.
import { HTTP_FILTER_METRICS, httpFilterLabels } from './http-filter-stats.js';
import { ENVOY_TCP_METRICS, ISTIO_TCP_METRICS, tcpStatsByPrefix } from './tcp-proxy-stats.js';
import { RESILIENCE_METRICS, type ClusterResilienceStats } from './cluster-resilience-stats.js';
import type { MergedClusterStats, MergedStats } from './merge-worker-stats.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ProxyIdentity {
  /** source_workload */
  readonly serviceName: string;
  /** source_workload_namespace */
  readonly namespace: string;
}

/** Counters only the agent (main thread) knows. */
export interface AgentStats {
  readonly configRejectedTotal: number;
  readonly configVersion: number;
  readonly workerRestartsTotal: number;
  /** Access-log lines dropped because the log's destination did not keep up (every worker). */
  readonly accessLogDroppedTotal?: number;
}

export interface RenderInput {
  readonly merged: MergedStats;
  readonly identity: ProxyIdentity;
  readonly agent: AgentStats;
  /** Upper bounds of the duration histogram, ms, matching each series' durationBuckets. */
  readonly durationBucketsMs: readonly number[];
  /** Circuit breakers, outlier detection and health checks per cluster (from the shared state), sorted by cluster. */
  readonly resilience?: readonly ClusterResilienceStats[];
}

type Labels = readonly (readonly [string, string])[];

/** A metric family whose samples are one numeric field of each row. */
export interface FieldMetric<F extends string> {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly field: F;
}

const CLUSTER_METRICS: readonly FieldMetric<keyof Omit<MergedClusterStats, 'cluster'>>[] = [
  { name: 'envoy_cluster_upstream_cx_active', type: 'gauge', help: 'Open upstream connections.', field: 'cxActive' },
  { name: 'envoy_cluster_upstream_cx_total', type: 'counter', help: 'Upstream connections opened.', field: 'cxTotal' },
  { name: 'envoy_cluster_upstream_cx_connect_fail', type: 'counter', help: 'Upstream connection failures.', field: 'cxConnectFail' },
  {
    name: 'envoy_cluster_upstream_cx_protocol_error',
    type: 'counter',
    help: 'Upstream connections closed for an HTTP/1.1 protocol error (an invalid response, or bytes after the end of one).',
    field: 'cxProtocolError',
  },
  { name: 'envoy_cluster_upstream_rq_active', type: 'gauge', help: 'Upstream requests in flight.', field: 'rqActive' },
  { name: 'envoy_cluster_upstream_rq_total', type: 'counter', help: 'Upstream requests sent.', field: 'rqTotal' },
  { name: 'envoy_cluster_upstream_rq_retry', type: 'counter', help: 'Upstream request retries.', field: 'rqRetry' },
  { name: 'envoy_cluster_upstream_rq_timeout', type: 'counter', help: 'Upstream requests that timed out.', field: 'rqTimeout' },
];

type WorkerSnapshot = MergedStats['workers'][number];

/** The per-worker-thread families, one row each: name, type, help, and the snapshot field it reads. */
const WORKER_METRICS: readonly (readonly [string, 'gauge' | 'counter', string, (w: WorkerSnapshot) => number])[] = [
  ['isthmus_worker_downstream_cx_active', 'gauge', 'Open downstream connections per worker thread.', (w) => w.downstreamCxActive],
  ['isthmus_worker_downstream_cx_total', 'counter', 'Downstream connections accepted per worker thread.', (w) => w.downstreamCxTotal],
  ['isthmus_worker_downstream_global_cx_overflow', 'counter', 'Downstream connections closed at accept because the proxy was at --max-connections.', (w) => w.downstreamCxOverflow],
  ['isthmus_worker_accept_paused_total', 'counter', 'Times a worker stopped accepting until a connection closed, the process being out of file descriptors.', (w) => w.acceptPausedTotal],
  ['isthmus_worker_downstream_tls_handshake_total', 'counter', 'Downstream TLS handshakes completed per worker thread.', (w) => w.tlsHandshakeTotal],
  ['isthmus_worker_downstream_tls_handshake_error_total', 'counter', 'Downstream TLS handshakes that failed (refused or missing client certificate, bad bytes, no common version).', (w) => w.tlsHandshakeErrorTotal],
  ['isthmus_worker_no_filter_chain_match_total', 'counter', 'Downstream connections closed because no filter chain matched them.', (w) => w.noFilterChainMatchTotal],
  ['isthmus_worker_downstream_pre_cx_timeout_total', 'counter', 'Downstream connections closed because the ClientHello did not arrive within listener_filters_timeout.', (w) => w.listenerFiltersTimeoutTotal],
  ['isthmus_worker_downstream_http2_cx_total', 'counter', 'Downstream connections that spoke HTTP/2.', (w) => w.http2?.cxTotal ?? 0],
  ['isthmus_worker_downstream_http2_rq_total', 'counter', 'Requests (streams) received over HTTP/2.', (w) => w.http2?.streamsTotal ?? 0],
  ['isthmus_worker_downstream_http2_rx_reset_total', 'counter', 'HTTP/2 streams the client reset before their response completed.', (w) => w.http2?.rxReset ?? 0],
  ['isthmus_worker_downstream_http2_tx_flush_timeout_total', 'counter', 'HTTP/2 streams reset because their response waited on the client (zero window, or not reading) past stream_idle_timeout.', (w) => w.http2?.txFlushTimeout ?? 0],
  ['isthmus_worker_downstream_http2_too_many_premature_resets_total', 'counter', 'HTTP/2 connections ended with GOAWAY because the client reset most of its streams early (rapid reset).', (w) => w.http2?.tooManyPrematureResets ?? 0],
  ['isthmus_worker_downstream_http2_protocol_error_total', 'counter', 'HTTP/2 connections ended for a protocol error or a flood (nghttp2 limits: SETTINGS/PING floods, invalid frames, header lists over the limit).', (w) => w.http2?.cxProtocolError ?? 0],
  ['isthmus_worker_downstream_http2_header_overflow_total', 'counter', 'HTTP/2 streams refused for a header list past max_request_headers_kb (HPACK bomb).', (w) => w.http2?.headerOverflow ?? 0],
  ['isthmus_worker_downstream_http2_outbound_flood_total', 'counter', 'HTTP/2 connections ended for more than max_outbound_frames frames queued to a client that does not read.', (w) => w.http2?.outboundFlood ?? 0],
  ['isthmus_worker_downstream_http2_continuation_flood_total', 'counter', 'HTTP/2 connections ended for a header block in too many CONTINUATION frames.', (w) => w.http2?.continuationFlood ?? 0],
  ['isthmus_worker_downstream_http2_inbound_control_flood_total', 'counter', 'HTTP/2 connections ended for SETTINGS/PING/RST floods (acks owed past max_outbound_control_frames).', (w) => w.http2?.inboundFlood ?? 0],
  ['isthmus_worker_downstream_http2_invalid_frames_total', 'counter', 'HTTP/2 connections ended for too many invalid frames.', (w) => w.http2?.invalidFrames ?? 0],
];

/** Escapes a label value: backslash, double quote and line feed (exposition format 0.0.4). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function formatLabels(labels: Labels): string {
  if (labels.length === 0) return '';
  let out = '{';
  for (let i = 0; i < labels.length; i++) {
    const [k, v] = labels[i]!;
    out += `${i === 0 ? '' : ','}${k}="${escapeLabelValue(v)}"`;
  }
  return `${out}}`;
}

/**
 * Istio names the destination by its service host; a static bootstrap's
 * clusters are the nearest thing. 'outbound|9080||reviews.default.svc.cluster.local'
 * -> service 'reviews.default.svc.cluster.local', name 'reviews'.
 */
export function destinationServiceOf(cluster: string): { service: string; name: string; version: string } {
  if (cluster === '') return { service: 'unknown', name: 'unknown', version: 'unknown' };
  const host = cluster.includes('|') ? (cluster.slice(cluster.lastIndexOf('|') + 1) || cluster) : cluster;
  const dot = host.indexOf('.');
  // destination_version: the subset of an Istio-named cluster (`outbound|9080|v1|reviews...`); DestinationRule
  // subsets are named after the version label by convention (Bookinfo's v1, v2, v3). Other clusters: unknown.
  const parts = cluster.split('|');
  const version = parts.length === 4 && parts[0] === 'outbound' && parts[2] !== '' ? parts[2]! : 'unknown';
  return { service: host, name: dot > 0 ? host.slice(0, dot) : host, version };
}

class TextBuilder {
  private out = '';
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.out += `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
  }
  sample(name: string, labels: Labels, value: number): void {
    this.out += `${name}${formatLabels(labels)} ${formatNumber(value)}\n`;
  }
  /** One family per metric, with one sample per row. */
  fieldFamilies<F extends string, R extends Readonly<Record<F, number>>>(metrics: readonly FieldMetric<F>[], rows: readonly R[], labelsOf: (row: R) => Labels): void {
    for (const metric of metrics) {
      this.family(metric.name, metric.type, metric.help);
      for (const row of rows) this.sample(metric.name, labelsOf(row), row[metric.field]);
    }
  }
  text(): string {
    return this.out;
  }
}

/** Takes the merged worker stats and the agent's own counters; returns the whole /stats/prometheus body. */
export function renderPrometheusText(input: RenderInput): string {
  const { merged, identity, agent, durationBucketsMs } = input;
  const b = new TextBuilder();

  const requestLabels = merged.requests.map((s): Labels => {
    const dest = destinationServiceOf(s.cluster);
    return [
      ['reporter', 'source'],
      ['source_workload', identity.serviceName],
      ['source_workload_namespace', identity.namespace],
      ['source_principal', s.security?.sourcePrincipal || 'unknown'],
      ['destination_service', dest.service],
      ['destination_service_name', dest.name],
      ['destination_version', dest.version],
      ['destination_principal', s.security?.destinationPrincipal || 'unknown'],
      ['request_protocol', 'http'],
      ['response_code', String(s.responseCode)],
      ['response_flags', s.responseFlags],
      ['grpc_response_status', s.grpcStatus === undefined ? '' : String(s.grpcStatus)],
      ['connection_security_policy', s.security?.policy ?? 'unknown'],
    ];
  });

  b.family('istio_requests_total', 'counter', 'Requests handled by this proxy.');
  merged.requests.forEach((s, i) => b.sample('istio_requests_total', requestLabels[i]!, s.count));

  b.family('istio_request_duration_milliseconds', 'histogram', 'Request duration, from first request byte to last response byte.');
  merged.requests.forEach((s, i) => {
    const labels = requestLabels[i]!;
    for (let j = 0; j < durationBucketsMs.length; j++) {
      b.sample('istio_request_duration_milliseconds_bucket', [...labels, ['le', formatNumber(durationBucketsMs[j]!)]], s.durationBuckets[j] ?? 0);
    }
    b.sample('istio_request_duration_milliseconds_bucket', [...labels, ['le', '+Inf']], s.count);
    b.sample('istio_request_duration_milliseconds_sum', labels, s.durationSumMs);
    b.sample('istio_request_duration_milliseconds_count', labels, s.count);
  });

  const tcp = merged.tcpProxy ?? [];
  // The TCP families appear only when some listener runs a tcp_proxy.
  if (tcp.length > 0) {
    b.fieldFamilies(ISTIO_TCP_METRICS.map((m) => ({ ...m, type: 'counter' as const })), tcp, (s): Labels => {
      const dest = destinationServiceOf(s.cluster);
      return [
        ['reporter', 'source'],
        ['source_workload', identity.serviceName],
        ['source_workload_namespace', identity.namespace],
        ['source_principal', s.security?.sourcePrincipal || 'unknown'],
        ['destination_service', dest.service],
        ['destination_service_name', dest.name],
        ['destination_principal', s.security?.destinationPrincipal || 'unknown'],
        ['request_protocol', 'tcp'],
        ['connection_security_policy', s.security?.policy ?? 'unknown'],
      ];
    });
    b.fieldFamilies(ENVOY_TCP_METRICS.map((m) => ({ ...m, type: 'counter' as const })), tcpStatsByPrefix(tcp), (s) => [['envoy_tcp_prefix', s.statPrefix]]);
  }

  b.fieldFamilies(CLUSTER_METRICS, merged.clusters, (c) => [['cluster_name', c.cluster]]);
  const filters = merged.httpFilters ?? [];
  // The fault and CORS families appear only when some listener runs one of those filters.
  if (filters.length > 0) b.fieldFamilies(HTTP_FILTER_METRICS, filters, httpFilterLabels);

  const resilience = input.resilience ?? [];
  for (const metric of RESILIENCE_METRICS) {
    const samples = resilience.map((s) => [s.cluster, metric.value(s)] as const).filter((x): x is readonly [string, number] => x[1] !== null);
    if (samples.length === 0) continue;
    b.family(metric.name, metric.type, metric.help);
    for (const [cluster, value] of samples) b.sample(metric.name, [['cluster_name', cluster]], value);
  }

  for (const [name, type, help, value] of WORKER_METRICS) {
    b.family(name, type, help);
    for (const w of merged.workers) b.sample(name, [['worker', String(w.workerId)]], value(w));
  }

  b.family('isthmus_config_rejected_total', 'counter', 'Bootstrap reloads rejected as invalid.');
  b.sample('isthmus_config_rejected_total', [], agent.configRejectedTotal);
  b.family('isthmus_config_version', 'gauge', 'Active config version.');
  b.sample('isthmus_config_version', [], agent.configVersion);
  b.family('isthmus_worker_restarts_total', 'counter', 'Worker threads restarted after exiting unexpectedly.');
  b.sample('isthmus_worker_restarts_total', [], agent.workerRestartsTotal);
  b.family('isthmus_access_log_dropped_total', 'counter', 'Access-log lines dropped because stdout or the log file did not keep up (the buffer is bounded).');
  b.sample('isthmus_access_log_dropped_total', [], agent.accessLogDroppedTotal ?? 0);
  return b.text();
}
