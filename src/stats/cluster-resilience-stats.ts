// Per-cluster circuit-breaker, outlier-detection and health-check stats, as
// the agent reads them from the proxy's shared state (summed over workers by
// construction), under Envoy's stat names for /stats/prometheus.

export interface ClusterResilienceStats {
  readonly cluster: string;
  // circuit breakers
  readonly upstreamRqPendingOverflow: number;
  readonly upstreamCxOverflow: number;
  readonly upstreamRqRetryOverflow: number;
  readonly upstreamRqPendingActive: number;
  readonly cxOpen: number;
  readonly rqPendingOpen: number;
  readonly rqOpen: number;
  readonly rqRetryOpen: number;
  readonly remainingCx: number;
  readonly remainingPending: number;
  readonly remainingRq: number;
  readonly remainingRetries: number;
  // outlier detection
  readonly ejectionsActive: number;
  readonly ejectionsOverflow: number;
  readonly ejectionsEnforcedTotal: number;
  readonly ejectionsDetectedConsecutive5xx: number;
  readonly ejectionsEnforcedConsecutive5xx: number;
  readonly ejectionsDetectedConsecutiveGatewayFailure: number;
  readonly ejectionsEnforcedConsecutiveGatewayFailure: number;
  readonly ejectionsDetectedSuccessRate: number;
  readonly ejectionsEnforcedSuccessRate: number;
  /** Active health checks; null when the cluster has none. */
  readonly healthCheck: {
    readonly attempt: number;
    readonly success: number;
    readonly failure: number;
    readonly networkFailure: number;
    /** Endpoints passing their checks now. */
    readonly healthy: number;
  } | null;
}

export interface ResilienceMetric {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly value: (s: ClusterResilienceStats) => number | null;
}

const HC = (f: 'attempt' | 'success' | 'failure' | 'networkFailure' | 'healthy') => (s: ClusterResilienceStats) => (s.healthCheck === null ? null : s.healthCheck[f]);

/** In output order; a null value (health checks of a cluster without them) prints no sample. */
export const RESILIENCE_METRICS: readonly ResilienceMetric[] = [
  { name: 'envoy_cluster_upstream_rq_pending_overflow', type: 'counter', help: 'Requests refused by max_requests or max_pending_requests (503 UO).', value: (s) => s.upstreamRqPendingOverflow },
  { name: 'envoy_cluster_upstream_cx_overflow', type: 'counter', help: 'Times max_connections kept a new upstream connection from opening.', value: (s) => s.upstreamCxOverflow },
  { name: 'envoy_cluster_upstream_rq_retry_overflow', type: 'counter', help: 'Retries refused by max_retries or the retry budget.', value: (s) => s.upstreamRqRetryOverflow },
  { name: 'envoy_cluster_upstream_rq_pending_active', type: 'gauge', help: 'Requests waiting for an upstream connection.', value: (s) => s.upstreamRqPendingActive },
  { name: 'envoy_cluster_circuit_breakers_default_cx_open', type: 'gauge', help: '1 while max_connections is reached.', value: (s) => s.cxOpen },
  { name: 'envoy_cluster_circuit_breakers_default_rq_pending_open', type: 'gauge', help: '1 while max_pending_requests is reached.', value: (s) => s.rqPendingOpen },
  { name: 'envoy_cluster_circuit_breakers_default_rq_open', type: 'gauge', help: '1 while max_requests is reached.', value: (s) => s.rqOpen },
  { name: 'envoy_cluster_circuit_breakers_default_rq_retry_open', type: 'gauge', help: '1 while max_retries (or the retry budget) is reached.', value: (s) => s.rqRetryOpen },
  { name: 'envoy_cluster_circuit_breakers_default_remaining_cx', type: 'gauge', help: 'Connections left before max_connections.', value: (s) => s.remainingCx },
  { name: 'envoy_cluster_circuit_breakers_default_remaining_pending', type: 'gauge', help: 'Pending requests left before max_pending_requests.', value: (s) => s.remainingPending },
  { name: 'envoy_cluster_circuit_breakers_default_remaining_rq', type: 'gauge', help: 'Requests left before max_requests.', value: (s) => s.remainingRq },
  { name: 'envoy_cluster_circuit_breakers_default_remaining_retries', type: 'gauge', help: 'Retries left before max_retries (or the retry budget).', value: (s) => s.remainingRetries },
  { name: 'envoy_cluster_outlier_detection_ejections_active', type: 'gauge', help: 'Endpoints ejected now.', value: (s) => s.ejectionsActive },
  { name: 'envoy_cluster_outlier_detection_ejections_overflow', type: 'counter', help: 'Ejections refused by max_ejection_percent.', value: (s) => s.ejectionsOverflow },
  { name: 'envoy_cluster_outlier_detection_ejections_enforced_total', type: 'counter', help: 'Ejections enforced, any kind.', value: (s) => s.ejectionsEnforcedTotal },
  { name: 'envoy_cluster_outlier_detection_ejections_detected_consecutive_5xx', type: 'counter', help: 'Consecutive-5xx outliers detected (enforced or not).', value: (s) => s.ejectionsDetectedConsecutive5xx },
  { name: 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_5xx', type: 'counter', help: 'Consecutive-5xx ejections enforced.', value: (s) => s.ejectionsEnforcedConsecutive5xx },
  { name: 'envoy_cluster_outlier_detection_ejections_detected_consecutive_gateway_failure', type: 'counter', help: 'Consecutive gateway-failure outliers detected.', value: (s) => s.ejectionsDetectedConsecutiveGatewayFailure },
  { name: 'envoy_cluster_outlier_detection_ejections_enforced_consecutive_gateway_failure', type: 'counter', help: 'Consecutive gateway-failure ejections enforced.', value: (s) => s.ejectionsEnforcedConsecutiveGatewayFailure },
  { name: 'envoy_cluster_outlier_detection_ejections_detected_success_rate', type: 'counter', help: 'Success-rate outliers detected.', value: (s) => s.ejectionsDetectedSuccessRate },
  { name: 'envoy_cluster_outlier_detection_ejections_enforced_success_rate', type: 'counter', help: 'Success-rate ejections enforced.', value: (s) => s.ejectionsEnforcedSuccessRate },
  { name: 'envoy_cluster_health_check_attempt', type: 'counter', help: 'Active health checks sent.', value: HC('attempt') },
  { name: 'envoy_cluster_health_check_success', type: 'counter', help: 'Active health checks passed.', value: HC('success') },
  { name: 'envoy_cluster_health_check_failure', type: 'counter', help: 'Active health checks failed (any reason).', value: HC('failure') },
  { name: 'envoy_cluster_health_check_network_failure', type: 'counter', help: 'Active health checks failed by a connection error or timeout.', value: HC('networkFailure') },
  { name: 'envoy_cluster_health_check_healthy', type: 'gauge', help: 'Endpoints passing their active health checks.', value: HC('healthy') },
];
