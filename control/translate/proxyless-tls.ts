// mTLS for proxyless gRPC (grpc-js-xds, grpc-go, grpc-java: gRFC A29), as
// Istio's grpc generator writes it: no SDS (gRPC has none), but certificate
// provider instances the application's xDS bootstrap defines
// (`certificate_providers.default`, a file_watcher over the files
// `isthmus agent --out DIR` keeps fresh): `default` for the workload
// certificate and key, the same instance for the trust bundle (`ROOTCA`).
// As in Istio, proxyless mTLS is explicit: a client originates it when a
// DestinationRule says ISTIO_MUTUAL (no auto mTLS), a server requires it when
// its PeerAuthentication is STRICT (gRPC has no tls_inspector, so PERMISSIVE
// stays plaintext).
import { TYPE_PREFIX } from './envoy-values.js';

const DOWNSTREAM_TLS_TYPE = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`;
const UPSTREAM_TLS_TYPE = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`;
const HCM_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;
const ROUTER_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.http.router.v3.Router`;

/** The certificate provider instance the bootstrap names (Istio's), and its certificate names. */
export const PROXYLESS_CERT_PROVIDER = 'default';
/** Istio's template for a proxyless server's Listener name; `%s` is the address it binds, `IP:PORT`. */
export const PROXYLESS_SERVER_LISTENER_TEMPLATE = 'xds.istio.io/grpc/lds/inbound/%s';

const identity = { instance_name: PROXYLESS_CERT_PROVIDER, certificate_name: 'default' };
const roots = { instance_name: PROXYLESS_CERT_PROVIDER, certificate_name: 'ROOTCA' };

/** A proxyless client's cluster transport socket: present the workload certificate, accept only `peerIds` (any of the mesh CA when empty). */
export function proxylessUpstreamTls(sni: string, peerIds: readonly string[]): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': UPSTREAM_TLS_TYPE,
      common_tls_context: {
        tls_certificate_provider_instance: identity,
        validation_context: {
          ca_certificate_provider_instance: roots,
          // gRPC reads match_subject_alt_names (a URI SAN matches an exact spiffe:// ID).
          ...(peerIds.length > 0 ? { match_subject_alt_names: peerIds.map((id) => ({ exact: id })) } : {}),
        },
      },
      sni,
    },
  };
}

/** A proxyless server's filter chain transport socket: a client certificate from the mesh CA is required. */
export function proxylessDownstreamTls(): object {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': DOWNSTREAM_TLS_TYPE,
      common_tls_context: { tls_certificate_provider_instance: identity, validation_context: { ca_certificate_provider_instance: roots } },
      require_client_certificate: { value: true },
    },
  };
}

/**
 * The Listener an XdsServer bound to `address:port` asks for: every RPC is served locally (non_forwarding_action,
 * gRFC A36), over mTLS when `mtls`.
 */
export function proxylessServerListener(address: string, port: number, mtls: boolean): object {
  const hostPort = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const name = PROXYLESS_SERVER_LISTENER_TEMPLATE.replace('%s', hostPort);
  return {
    name,
    address: { socket_address: { address, port_value: port } },
    filter_chains: [{
      name: mtls ? 'inbound-mtls' : 'inbound-plaintext',
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': HCM_TYPE,
          stat_prefix: name,
          route_config: {
            name,
            virtual_hosts: [{ name: 'inbound', domains: ['*'], routes: [{ match: { prefix: '/' }, non_forwarding_action: {} }] }],
          },
          http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
        },
      }],
      ...(mtls ? { transport_socket: proxylessDownstreamTls() } : {}),
    }],
  };
}
