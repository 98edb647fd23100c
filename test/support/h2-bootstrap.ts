// The Envoy cluster config HTTP/2 e2e tests share: tls-bootstrap.ts's
// staticCluster, speaking HTTP/2 to its endpoint.
import { staticCluster } from './tls-bootstrap.js';

/** typed_extension_protocol_options that make a cluster speak HTTP/2 to its endpoints. */
export const H2_PROTOCOL_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
} as const;

/** staticCluster (one endpoint 127.0.0.1:`port`, connect_timeout 2s) speaking HTTP/2 (prior knowledge, or ALPN h2
 *  with a TLS transport_socket in `extra`), with `extra` fields. */
export function h2Cluster(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...staticCluster(name, port), typed_extension_protocol_options: H2_PROTOCOL_OPTIONS, ...extra };
}
