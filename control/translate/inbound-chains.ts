// The inbound listener's filter chains of a sidecar with a mesh identity whose
// service has TCP (tcp_proxy) ports, by PeerAuthentication mode, as Istio
// builds them (pilot's filterchain_options.go):
//   STRICT:     TLS -> mTLS terminated, then the tcp_proxy; plaintext finds no chain.
//   PERMISSIVE: TLS offering an Istio ALPN (istio-peer-exchange, istio, istio-http/*) -> mTLS;
//               plaintext -> the tcp_proxy; other TLS (an app's own one-way TLS) -> passed through.
//   DISABLE:    everything to the tcp_proxy as it comes.
// A service that also has HTTP ports is served on the same inbound port: where
// Istio tells ports apart by the original destination port, we tell the mTLS
// TCP chain by the client sidecar's SNI (`outbound_.<port>_.<subset>_.<host>`,
// every subset of the host's DestinationRule), and the plaintext ones by the
// http_inspector as before.
import { inboundMtlsSocket, tlsInspectorFilter, TCP_DOWNSTREAM_ALPN } from './mtls-contexts.js';
import type { EffectiveMtlsMode } from './peer-authentication-policy.js';

/** Istio's ALPNs of in-mesh TLS (allIstioMtlsALPNs): the PERMISSIVE mTLS chain takes TLS offering one of them. */
export const ISTIO_MTLS_ALPNS = ['istio', 'istio-peer-exchange', 'istio-http/1.0', 'istio-http/1.1', 'istio-h2'];
/** What the http_inspector reports for HTTP/1.x and h2c. */
const SNIFFED_HTTP_PROTOCOLS = ['http/1.0', 'http/1.1', 'h2c'];

export interface InboundChainParts {
  readonly mode: EffectiveMtlsMode;
  /** The tcp_proxy network filter to the first TCP port's inbound cluster. */
  readonly tcpFilter: object;
  /** The HTTP connection manager for plaintext, and the one for mTLS (XFCC set), when the service has HTTP ports. */
  readonly http?: { readonly plain: object; readonly mtls: object };
  /** The client sidecars' SNIs for the TCP ports (needed only with HTTP ports beside them). */
  readonly tcpServerNames: readonly string[];
}

export interface InboundChains {
  readonly listenerFilters: object[];
  readonly filterChains: object[];
}

/** takes the mode and the filters; returns the listener filters and chains of the inbound listener. */
export function inboundTcpChains(parts: InboundChainParts): InboundChains {
  const { mode, tcpFilter, http } = parts;
  const chains: object[] = [];
  const filters: object[] = [];
  if (mode !== 'DISABLE') {
    filters.push(tlsInspectorFilter());
    const mtlsTcp = { transport_socket: inboundMtlsSocket(TCP_DOWNSTREAM_ALPN), filters: [tcpFilter] };
    if (http === undefined) {
      chains.push({
        name: 'inbound-mtls-tcp',
        filter_chain_match: mode === 'STRICT' ? { transport_protocol: 'tls' } : { transport_protocol: 'tls', application_protocols: ISTIO_MTLS_ALPNS },
        ...mtlsTcp,
      });
    } else {
      chains.push({ name: 'inbound-mtls-tcp', filter_chain_match: { server_names: [...parts.tcpServerNames], transport_protocol: 'tls' }, ...mtlsTcp });
      chains.push({ name: 'inbound-mtls-http', filter_chain_match: { transport_protocol: 'tls' }, transport_socket: inboundMtlsSocket(), filters: [http.mtls] });
    }
  }
  if (mode !== 'STRICT') {
    const transport = mode === 'DISABLE' ? {} : { transport_protocol: 'raw_buffer' };
    if (http !== undefined) {
      filters.push({ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } });
      chains.push({ name: 'inbound-plaintext-http', filter_chain_match: { ...transport, application_protocols: SNIFFED_HTTP_PROTOCOLS }, filters: [http.plain] });
    }
    chains.push({ name: 'inbound-plaintext-tcp', ...(mode === 'DISABLE' ? {} : { filter_chain_match: transport }), filters: [tcpFilter] });
    // PERMISSIVE: TLS that is not the mesh's (no Istio ALPN) is the app's own: relayed undecrypted.
    if (mode === 'PERMISSIVE' && http === undefined) chains.push({ name: 'inbound-tls-passthrough', filter_chain_match: { transport_protocol: 'tls' }, filters: [tcpFilter] });
  }
  return { listenerFilters: filters, filterChains: chains };
}
