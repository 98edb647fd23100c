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

/** The `ns` or `sa` segment of a SPIFFE ID; undefined when it has none or is not one. */
export function spiffePart(uri: string, part: 'ns' | 'sa'): string | undefined {
  if (!uri.startsWith('spiffe://')) return undefined;
  const segments = uri.slice(9).split('/');
  for (let i = 1; i + 1 < segments.length; i += 2) if (segments[i] === part) return segments[i + 1];
  return undefined;
}
