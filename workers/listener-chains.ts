// A listener's filter chains as its connections use them: the chains (for
// selection) and each chain's TLS context, built once per distinct TLS
// config. A reload whose TLS config is unchanged keeps the same context
// (session tickets stay valid); a changed one (a renewed certificate) gets a
// new context for new handshakes while open connections keep the old one
// (the engine refcounts it).
import type { DownstreamTls, FilterChain, Listener } from '../src/config/bootstrap-types.js';
import { tlsCreateContext, type TlsContextHandle } from '../src/native.js';
import { engineConfig } from '../src/config/tls-context.js';

export interface ListenerChains {
  readonly chains: readonly FilterChain[];
  /** Per chain: its TLS context, null for plaintext. */
  readonly contexts: readonly (TlsContextHandle | null)[];
  /** A listener filter is configured: peek the first bytes to choose a chain. */
  readonly inspect: boolean;
  /** The tls_inspector: read the ClientHello's SNI and ALPN. */
  readonly inspectTls: boolean;
  /** The http_inspector: a plaintext HTTP/1.x request line or h2c preface sets the application protocol. */
  readonly inspectHttp: boolean;
  /** listener_filters_timeout: the connection closes when the inspected bytes are not in by then (0 = never). */
  readonly inspectTimeoutMs: number;
  /** continue_on_listener_filters_timeout: at the timeout a chain is chosen with what is known instead. */
  readonly continueOnTimeout: boolean;
  /** Whether any chain terminates TLS. */
  readonly anyTls: boolean;
  /** Whether any chain is a tcp_proxy. */
  readonly anyTcp: boolean;
}

let ticketKey: Buffer | null = null;

/** The worker's session-ticket key (from WorkerInit), shared by every worker so resumption works across them. */
export function setTlsTicketKey(key: Uint8Array): void {
  ticketKey = Buffer.from(key);
}

/** Builds ListenerChains, reusing contexts from `previous` whose TLS config text is unchanged. */
export class TlsContextCache {
  private byKey = new Map<string, TlsContextHandle>();

  chainsFor(listener: Listener): ListenerChains {
    const next = new Map<string, TlsContextHandle>();
    const contexts = listener.filterChains.map((c) => (c.tls === null ? null : this.contextFor(c.tls, next, c.hcm.codecType !== 'HTTP1')));
    this.byKey = next;
    return {
      chains: listener.filterChains,
      contexts,
      inspect: listener.tlsInspector || listener.httpInspector,
      inspectTls: listener.tlsInspector,
      inspectHttp: listener.httpInspector,
      inspectTimeoutMs: listener.listenerFiltersTimeoutMs,
      continueOnTimeout: listener.continueOnListenerFiltersTimeout,
      anyTls: contexts.some((c) => c !== null),
      anyTcp: listener.filterChains.some((c) => c.tcpProxy !== null),
    };
  }

  private contextFor(tls: DownstreamTls, next: Map<string, TlsContextHandle>, allowH2: boolean): TlsContextHandle {
    const config = { ...engineConfig(tls, true, tls.requireClientCertificate, allowH2), ...(ticketKey !== null ? { ticketKey } : {}) };
    const key = JSON.stringify(config);
    let context = next.get(key) ?? this.byKey.get(key);
    // The config reader built this context once already, so this cannot fail for a config that was accepted.
    if (context === undefined) context = tlsCreateContext(config);
    next.set(key, context);
    return context;
  }
}
