// The TLS context of a cluster's HTTP/2 connections: its UpstreamTlsContext
// offering ALPN h2. With no alpn_protocols configured it offers just h2, as
// Envoy does for an HTTP/2 cluster (an h2-only server, Node's or gRPC's,
// refuses a client that does not negotiate it); a configured list is kept.
import { engineConfig } from '../../src/config/tls-context.js';
import type { UpstreamTls } from '../../src/config/bootstrap-types.js';
import { tlsCreateContext, type TlsContextHandle } from '../../src/native.js';

/** Takes the cluster's UpstreamTlsContext, returns an engine context for its HTTP/2 connections. */
export function h2UpstreamTlsContext(tls: UpstreamTls): TlsContextHandle {
  const alpn = tls.alpn.length === 0 ? ['h2'] : tls.alpn;
  return tlsCreateContext(engineConfig({ ...tls, alpn }, false, false, true));
}
