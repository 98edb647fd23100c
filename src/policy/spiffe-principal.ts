// A peer's SPIFFE ID (spiffe://TRUST_DOMAIN/ns/NS/sa/SA, the first URI SAN of
// its certificate) as Istio's attributes name it: source.principal without
// the scheme, source.namespace and source.serviceaccount from its path. The
// proxy's Mixer filter and the control plane's ext_authz mapping both read it
// through here, so a rule on them decides alike on either path.

/** spiffe://td/ns/NS/sa/SA -> td/ns/NS/sa/SA (Istio's principal form); undefined without a peer identity. */
export function principalOf(uri: string): string | undefined {
  if (uri === '') return undefined;
  return uri.startsWith('spiffe://') ? uri.slice(9) : uri;
}

/** The SPIFFE standard's bound on an ID: a longer URI names no workload, and is not scanned. */
export const MAX_SPIFFE_ID_LENGTH = 2048;

/**
 * The `ns` or `sa` segment of a SPIFFE ID; undefined when it has none or is not one. Scans in place (no split): the
 * proxy reads it per request, and an ext_authz client may send megabytes of slashes.
 */
export function spiffePart(uri: string, part: 'ns' | 'sa'): string | undefined {
  if (uri.length > MAX_SPIFFE_ID_LENGTH || !uri.startsWith('spiffe://')) return undefined;
  // After the trust domain: /key/value pairs.
  for (let at = uri.indexOf('/', 9); at >= 0;) {
    const keyEnd = uri.indexOf('/', at + 1);
    if (keyEnd < 0) return undefined;
    const valueEnd = uri.indexOf('/', keyEnd + 1);
    if (keyEnd - at - 1 === part.length && uri.startsWith(part, at + 1)) return uri.slice(keyEnd + 1, valueEnd < 0 ? uri.length : valueEnd);
    at = valueEnd;
  }
  return undefined;
}
