// The TLS contexts of sidecar-to-sidecar mTLS, as Istio writes them: both
// sides name the SDS secrets the proxy's workload identity serves (`default`:
// its certificate and key; `ROOTCA`: the trust bundle). Inbound requires a
// client certificate from the mesh's CA; outbound sends Istio's SNI
// (`outbound_.<port>_.<subset>_.<host>`), ALPN `istio-peer-exchange`,
// `istio`, and accepts only a peer whose SPIFFE ID is one of the
// destination's service accounts.
const TLS_INSPECTOR_NAME = 'envoy.filters.listener.tls_inspector';
const TLS_INSPECTOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const DOWNSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const UPSTREAM_TLS_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const TLS_SOCKET_NAME = 'envoy.transport_sockets.tls';
/** ALPN of an in-mesh HTTP/1.1 connection (Istio's ALPNInMeshWithMxc). */
export const ISTIO_ALPN = ['istio-peer-exchange', 'istio'];
/** ALPN of an in-mesh HTTP/2 connection (Istio's ALPNInMeshH2WithMxc): the server's HTTP chain selects h2. */
export const ISTIO_H2_ALPN = ['istio-peer-exchange', 'istio', 'h2'];
/** ALPN an inbound HTTP mTLS chain offers (Istio's ALPNHttp): h2 for clients that ask for it, else HTTP/1.1. */
export const HTTP_DOWNSTREAM_ALPN = ['h2', 'http/1.1'];

const sds = (name: string): object => ({ name, sds_config: { ads: {}, resource_api_version: 'V3' } });

function commonTlsContext(alpn: readonly string[], sanMatchers?: object[]): object {
  return {
    alpn_protocols: alpn,
    tls_certificate_sds_secret_configs: [sds('default')],
    combined_validation_context: {
      default_validation_context: sanMatchers === undefined ? {} : { match_typed_subject_alt_names: sanMatchers },
      validation_context_sds_secret_config: sds('ROOTCA'),
    },
  };
}

/**
 * The ALPN an inbound mTLS chain of a TCP port offers: Istio's ALPNDownstream (h2, http/1.1). Istio offers
 * istio-peer-exchange first when its metadata-exchange filter runs; we have none, and a client that got
 * istio-peer-exchange would send an exchange header the app would receive, so we leave it out (Istio's DisableMxALPN).
 */
export const TCP_DOWNSTREAM_ALPN = ['h2', 'http/1.1'];

/** The inbound mTLS transport socket: a certificate from the mesh CA is required. */
export function inboundMtlsSocket(alpn: readonly string[] = HTTP_DOWNSTREAM_ALPN): object {
  return {
    name: TLS_SOCKET_NAME,
    typed_config: {
      '@type': DOWNSTREAM_TLS_TYPE,
      common_tls_context: commonTlsContext(alpn),
      require_client_certificate: { value: true },
    },
  };
}

/** Istio's SNI for an outbound cluster (`outbound_.9080_.v1_.reviews.default.svc.cluster.local`). */
export function istioSni(host: string, port: number, subset: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/** spiffe://<td>/ns/<ns>/sa/<sa> for each account (sorted, unique). */
export function spiffeIds(trustDomain: string, accounts: readonly { namespace: string; serviceAccount: string }[]): string[] {
  return [...new Set(accounts.map((a) => `spiffe://${trustDomain}/ns/${a.namespace}/sa/${a.serviceAccount}`))].sort();
}

/** The outbound mTLS transport socket; `peerIds` empty: any certificate of the mesh CA (Istio's fallback). */
export function outboundMtlsSocket(sni: string, peerIds: readonly string[], alpn: readonly string[] = ISTIO_ALPN): object {
  const matchers = peerIds.map((id) => ({ san_type: 'URI', matcher: { exact: id } }));
  return {
    name: TLS_SOCKET_NAME,
    typed_config: {
      '@type': UPSTREAM_TLS_TYPE,
      common_tls_context: commonTlsContext(alpn, matchers.length > 0 ? matchers : undefined),
      sni,
    },
  };
}

export function tlsInspectorFilter(): object {
  return { name: TLS_INSPECTOR_NAME, typed_config: { '@type': TLS_INSPECTOR_TYPE } };
}
