// Envoy config pieces the HTTP/2 e2e tests share: a listener whose HTTP
// connection manager routes everything through one virtual host, and a
// cluster of one 127.0.0.1 endpoint that speaks HTTP/1.1 or HTTP/2 upstream.
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const HTTP_PROTOCOL_OPTIONS_TYPE = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** typed_extension_protocol_options that make a cluster speak HTTP/2 to its endpoints. */
export const H2_PROTOCOL_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': HTTP_PROTOCOL_OPTIONS_TYPE,
    explicit_http_config: { http2_protocol_options: {} },
  },
} as const;

/** A listener `name` on 127.0.0.1, any free port; its HCM (stat_prefix `name`, plus `hcm` fields such as codec_type)
 *  routes every host by `routes`; `transportSocket` (e.g. a DownstreamTlsContext) goes on its filter chain. */
export function hcmListener(
  name: string,
  routes: readonly unknown[],
  hcm: Record<string, unknown> = {},
  transportSocket?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{ ...(transportSocket !== undefined ? { transport_socket: transportSocket } : {}), filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
      '@type': HCM_TYPE, stat_prefix: name, ...hcm,
      route_config: { name: 'r', virtual_hosts: [{ name: 'all', domains: ['*'], routes }] },
    } }] }],
  };
}

/** A route of every path under `prefix` to `cluster`, with an optional route timeout. */
export function prefixRoute(prefix: string, cluster: string, timeout?: string): Record<string, unknown> {
  return { match: { prefix }, route: timeout === undefined ? { cluster } : { cluster, timeout } };
}

/** A cluster `name` of one endpoint 127.0.0.1:`port` (connect_timeout 2s), with `extra` fields. */
export function loopbackCluster(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    connect_timeout: '2s',
    ...extra,
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  };
}

/** loopbackCluster speaking HTTP/2 (prior knowledge, or ALPN h2 with a TLS transport_socket in `extra`). */
export function h2Cluster(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return loopbackCluster(name, port, { typed_extension_protocol_options: H2_PROTOCOL_OPTIONS, ...extra });
}
