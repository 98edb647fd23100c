// The demo's Envoy v3 bootstrap: one listener, a `*` virtual host (so a bare
// `curl http://127.0.0.1:PORT/` matches whatever Host it sends), a /health
// answered by the proxy itself, /v2 pinned to v2, and everything else split
// 80/20 between v1 and v2. Written to a file the user may edit to see hot reload.

export interface DemoPorts {
  readonly listenPort: number;
  readonly v1Port: number;
  readonly v2Port: number;
}

function cluster(name: string, port: number): string {
  return `  - name: ${name}
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: ${name}
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: ${port} }
`;
}

export function demoBootstrapYaml(ports: DemoPorts): string {
  return `# The Isthmus demo's bootstrap (Envoy v3 static_resources subset).
# Edit and save: the proxy reloads it without a restart. Try weights 50/50.
static_resources:
  listeners:
  - name: demo
    address:
      socket_address: { address: 127.0.0.1, port_value: ${ports.listenPort} }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: demo
          route_config:
            name: demo
            virtual_hosts:
            - name: reviews
              domains: ["*"]
              routes:
              - name: health
                match: { path: /health }
                direct_response:
                  status: 200
                  body: { inline_string: "ok\\n" }
              - name: pinned-v2
                match: { prefix: /v2 }
                route: { cluster: reviews-v2 }
              - name: split
                match: { prefix: / }
                route:
                  weighted_clusters:
                    clusters:
                    - { name: reviews-v1, weight: 80 }
                    - { name: reviews-v2, weight: 20 }
  clusters:
${cluster('reviews-v1', ports.v1Port)}${cluster('reviews-v2', ports.v2Port)}`;
}
