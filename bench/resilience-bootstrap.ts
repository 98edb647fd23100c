// What the bench bootstrap adds in the resilience scenario: every data plane
// v2 feature configured but idle: circuit breakers and a retry budget far
// above the load, outlier detection and an active health check on a healthy
// upstream, the retry host predicate, fault injection at 0%, a CORS policy
// (the bench sends no Origin), a request mirror at 0%, and a locality on the
// endpoint. Issue 3 asks that the proxy with all of this stays within 5% of
// v1's throughput. benchBootstrapYaml splices these into its one listener,
// route and cluster (indentation included).

/** http_connection_manager.http_filters (the router last). */
export const IDLE_HTTP_FILTERS = `          http_filters:
          - name: envoy.filters.http.cors
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors }
          - name: envoy.filters.http.fault
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
              abort: { http_status: 503, percentage: { numerator: 0, denominator: HUNDRED } }
              delay: { fixed_delay: 1s, percentage: { numerator: 0, denominator: HUNDRED } }
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;

/** The virtual host's CORS policy. */
export const IDLE_VIRTUAL_HOST = `              typed_per_filter_config:
                envoy.filters.http.cors:
                  "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                  allow_origin_string_match: [{ exact: "https://app.example" }]
                  allow_methods: GET,POST
                  max_age: "600"
`;

/** The catch-all route's action. */
export const IDLE_ROUTE = `                route:
                  cluster: upstream
                  retry_policy:
                    retry_on: connect-failure,reset
                    num_retries: 2
                    retry_host_predicate: [{ name: envoy.retry_host_predicates.previous_hosts }]
                    host_selection_retry_max_attempts: 3
                  request_mirror_policies:
                  - cluster: shadow
                    runtime_fraction: { default_value: { numerator: 0, denominator: HUNDRED } }
`;

/** The upstream cluster's fields before load_assignment. */
export const IDLE_CLUSTER = `    circuit_breakers:
      thresholds:
      - max_connections: 100000
        max_pending_requests: 100000
        max_requests: 100000
        retry_budget: { budget_percent: { value: 20 }, min_retry_concurrency: 10 }
    outlier_detection:
      consecutive_5xx: 5
      consecutive_gateway_failure: 5
      enforcing_consecutive_gateway_failure: 100
      interval: 1s
      base_ejection_time: 30s
      max_ejection_percent: 100
    health_checks:
    - timeout: 1s
      interval: 1s
      unhealthy_threshold: 2
      healthy_threshold: 1
      http_health_check: { path: /healthz }
`;

/** The endpoint group's locality. */
export const IDLE_LOCALITY = `      - locality: { region: bench, zone: a }
        lb_endpoints:
`;

/** The mirror's shadow cluster (the same upstream). */
export function idleShadowCluster(upstreamPort: number): string {
  return `  - name: shadow
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: shadow
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} }
`;
}
