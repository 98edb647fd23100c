// Istio's TLS settings as Envoy transport sockets: a Gateway server's tls
// (SIMPLE/MUTUAL termination) as a DownstreamTlsContext, a DestinationRule's
// tls (SIMPLE/MUTUAL origination) as an UpstreamTlsContext. Certificates are
// file paths on the proxy's machine (Envoy DataSource `filename`): the proxy
// reads them, as Envoy does with Istio's file-mounted certificates.
import type { ClientTlsSettings, ServerTlsSettings } from '../config/istio-types.js';
import { TYPE_PREFIX } from './envoy-values.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
const DOWNSTREAM_TLS_TYPE = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`;
const UPSTREAM_TLS_TYPE = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`;

const TLS_VERSION: Readonly<Record<string, string>> = { TLSV1_2: 'TLSv1_2', TLSV1_3: 'TLSv1_3' };

/** Istio matches subjectAltNames against any SAN; a spiffe:// name is a URI SAN, the rest DNS names. */
function sanMatchers(names: readonly string[]): object[] {
  return names.map((name) => ({ san_type: name.startsWith('spiffe://') ? 'URI' : 'DNS', matcher: { exact: name } }));
}

function validationContext(caCertificates: string | undefined, subjectAltNames: readonly string[]): object | undefined {
  if (caCertificates === undefined) return undefined;
  return {
    trusted_ca: { filename: caCertificates },
    ...(subjectAltNames.length > 0 ? { match_typed_subject_alt_names: sanMatchers(subjectAltNames) } : {}),
  };
}

/** The filter chain's transport socket for a SIMPLE or MUTUAL server; undefined for other modes. */
export function downstreamTlsSocket(tls: ServerTlsSettings): object | undefined {
  if (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL') return undefined;
  const params: Record<string, string> = {};
  if (tls.minProtocolVersion !== undefined) params.tls_minimum_protocol_version = TLS_VERSION[tls.minProtocolVersion]!;
  if (tls.maxProtocolVersion !== undefined) params.tls_maximum_protocol_version = TLS_VERSION[tls.maxProtocolVersion]!;
  // SIMPLE with caCertificates does not ask for a client certificate (Istio ignores the CA there).
  const validation = tls.mode === 'MUTUAL' ? validationContext(tls.caCertificates, tls.subjectAltNames) : undefined;
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: {
      '@type': DOWNSTREAM_TLS_TYPE,
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: tls.serverCertificate }, private_key: { filename: tls.privateKey } }],
        ...(validation !== undefined ? { validation_context: validation } : {}),
        ...(Object.keys(params).length > 0 ? { tls_params: params } : {}),
        alpn_protocols: ['http/1.1'],
      },
      ...(tls.mode === 'MUTUAL' ? { require_client_certificate: true } : {}),
    },
  };
}

/**
 * The cluster's transport socket for DestinationRule tls SIMPLE or MUTUAL; undefined for DISABLE and (until the
 * mesh has identities to present) ISTIO_MUTUAL, which stay plaintext. Without caCertificates (or with
 * insecureSkipVerify) the server's certificate is not checked: analyze warns about it.
 */
export function upstreamTlsSocket(tls: ClientTlsSettings | undefined, host?: string): object | undefined {
  if (tls === undefined || (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL')) return undefined;
  // No sni written: the destination host, which is what Istio's auto SNI sends for a request to that host.
  const sni = tls.sni ?? (host !== undefined && !host.includes('*') ? host : undefined);
  const validation = tls.insecureSkipVerify === true ? undefined : validationContext(tls.caCertificates, tls.subjectAltNames);
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: {
      '@type': UPSTREAM_TLS_TYPE,
      common_tls_context: {
        ...(tls.mode === 'MUTUAL'
          ? { tls_certificates: [{ certificate_chain: { filename: tls.clientCertificate }, private_key: { filename: tls.privateKey } }] }
          : {}),
        ...(validation !== undefined ? { validation_context: validation } : {}),
      },
      ...(sni !== undefined ? { sni } : {}),
    },
  };
}
