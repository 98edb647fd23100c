// Envoy config pieces the HTTP/2 e2e tests share, on top of harness.ts's
// httpListener and tls-bootstrap.ts's staticCluster: a listener routing every
// host through one virtual host, and a cluster that speaks HTTP/2 upstream.
import { httpListener, type HttpListenerExtras } from '../e2e/harness.js';
import { staticCluster } from './tls-bootstrap.js';

/** typed_extension_protocol_options that make a cluster speak HTTP/2 to its endpoints. */
export const H2_PROTOCOL_OPTIONS = {
  'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
    '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
    explicit_http_config: { http2_protocol_options: {} },
  },
} as const;

/** A listener `name` on 127.0.0.1, any free port, whose HCM (stat_prefix `name`, plus `extras`) routes every host by
 *  `routes`. */
export function hcmListener(name: string, routes: readonly unknown[], extras: HttpListenerExtras = {}): Record<string, unknown> {
  return httpListener(name, 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes }] }, extras);
}

/** A route of every path under `prefix` to `cluster`, with an optional route timeout. */
export function prefixRoute(prefix: string, cluster: string, timeout?: string): Record<string, unknown> {
  return { match: { prefix }, route: timeout === undefined ? { cluster } : { cluster, timeout } };
}

/** staticCluster (one endpoint 127.0.0.1:`port`, connect_timeout 2s) speaking HTTP/2 (prior knowledge, or ALPN h2
 *  with a TLS transport_socket in `extra`), with `extra` fields. */
export function h2Cluster(name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...staticCluster(name, port), typed_extension_protocol_options: H2_PROTOCOL_OPTIONS, ...extra };
}
