// Envoy config pieces for TLS tests: DownstreamTlsContext / UpstreamTlsContext
// transport sockets, and a listener whose filter chains each carry one.
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export interface TlsCertFiles {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface DownstreamTlsOptions {
  readonly certificates: readonly TlsCertFiles[];
  readonly trustedCaPath?: string;
  readonly requireClientCertificate?: boolean;
  readonly alpn?: readonly string[];
}

export function downstreamTls(o: DownstreamTlsOptions): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      common_tls_context: {
        tls_certificates: o.certificates.map((c) => ({ certificate_chain: { filename: c.certPath }, private_key: { filename: c.keyPath } })),
        ...(o.trustedCaPath !== undefined ? { validation_context: { trusted_ca: { filename: o.trustedCaPath } } } : {}),
        ...(o.alpn !== undefined ? { alpn_protocols: o.alpn } : {}),
      },
      ...(o.requireClientCertificate ? { require_client_certificate: true } : {}),
    },
  };
}

export function upstreamTls(trustedCaPath: string, sni: string, san?: { type: string; exact?: string; prefix?: string }, clientCert?: TlsCertFiles): Record<string, unknown> {
  const matcher = san === undefined ? undefined : san.exact !== undefined ? { exact: san.exact } : { prefix: san.prefix };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      sni,
      common_tls_context: {
        ...(clientCert !== undefined
          ? { tls_certificates: [{ certificate_chain: { filename: clientCert.certPath }, private_key: { filename: clientCert.keyPath } }] }
          : {}),
        validation_context: {
          trusted_ca: { filename: trustedCaPath },
          ...(san !== undefined ? { match_typed_subject_alt_names: [{ san_type: san.type, matcher }] } : {}),
        },
      },
    },
  };
}

export interface ChainSpec {
  readonly match?: Record<string, unknown>;
  readonly transportSocket?: Record<string, unknown>;
}

/** A listener on 127.0.0.1:0 with these chains (each routing by `routeConfig`) and optionally the tls_inspector. */
export function chainsListener(name: string, chains: readonly ChainSpec[], routeConfig: Record<string, unknown>, inspector: boolean): Record<string, unknown> {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    ...(inspector ? { listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }] } : {}),
    filter_chains: chains.map((c) => ({
      ...(c.match !== undefined ? { filter_chain_match: c.match } : {}),
      ...(c.transportSocket !== undefined ? { transport_socket: c.transportSocket } : {}),
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: { '@type': HCM, stat_prefix: name, route_config: { name: 'local', ...routeConfig } },
      }],
    })),
  };
}

export function staticCluster(name: string, port: number, transportSocket?: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    ...(transportSocket !== undefined ? { transport_socket: transportSocket } : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }],
    },
  };
}

/** A bootstrap with one listener, `tls`, terminating TLS with `certificate` and routing everything to 127.0.0.1:upstreamPort (cluster app). */
export function tlsTerminationBootstrap(certificate: TlsCertFiles, upstreamPort: number): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [chainsListener('tls', [{ transportSocket: downstreamTls({ certificates: [certificate] }) }], {
        virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }],
      }, false)],
      clusters: [staticCluster('app', upstreamPort)],
    },
  };
}
