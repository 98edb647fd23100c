// Chooses a listener's filter chain for a new connection as Envoy does, one
// criterion at a time, each narrowing to the most specific match: server
// name (exact, then the longest wildcard suffix, then chains naming none),
// transport protocol (exact, then chains naming none), application protocols
// (any in common, then chains naming none). No chain left: the connection is
// closed.
import type { FilterChain } from '../src/config/bootstrap-types.js';

function byServerName(chains: readonly FilterChain[], sni: string): FilterChain[] {
  if (sni !== '') {
    const exact = chains.filter((c) => c.match.serverNames.includes(sni));
    if (exact.length > 0) return exact;
    let best: FilterChain[] = [];
    let bestLen = 0;
    for (const c of chains) {
      for (const name of c.match.serverNames) {
        if (!name.startsWith('*.')) continue;
        const suffix = name.slice(1); // ".example.com"
        if (!sni.endsWith(suffix) || sni.length <= suffix.length) continue;
        if (suffix.length > bestLen) {
          best = [c];
          bestLen = suffix.length;
        } else if (suffix.length === bestLen && !best.includes(c)) best.push(c);
      }
    }
    if (best.length > 0) return best;
  }
  return chains.filter((c) => c.match.serverNames.length === 0);
}

/** takes the chains, the transport ('tls' | 'raw_buffer'), the ClientHello's SNI ('' = none) and ALPN list; returns a chain's index or -1. */
export function selectFilterChain(chains: readonly FilterChain[], transport: 'tls' | 'raw_buffer', sni: string, alpn: readonly string[]): number {
  let left = byServerName(chains, sni);
  const exactTransport = left.filter((c) => c.match.transportProtocol === transport);
  left = exactTransport.length > 0 ? exactTransport : left.filter((c) => c.match.transportProtocol === '');
  const withAlpn = left.filter((c) => c.match.applicationProtocols.some((p) => alpn.includes(p)));
  left = withAlpn.length > 0 ? withAlpn : left.filter((c) => c.match.applicationProtocols.length === 0);
  return left.length === 0 ? -1 : chains.indexOf(left[0]!);
}
