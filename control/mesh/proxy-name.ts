// How a person names a proxy on the command line: its full xDS node id, its
// short name (Istio's `<workload>.<namespace>`, the third `~` field of a
// sidecar id), or any prefix of either that only one connected proxy has.

/** `sidecar~10.0.0.1~reviews-3f2a.default~default.svc.cluster.local` -> `reviews-3f2a.default`; other ids as they are. */
export function shortName(nodeId: string): string {
  const parts = nodeId.split('~');
  return parts.length === 4 && parts[2] !== '' ? parts[2]! : nodeId;
}

export type ProxyMatch = { readonly ok: true; readonly id: string } | { readonly ok: false; readonly message: string };

/**
 * Takes the connected node ids and what the user typed; returns the one id meant. An exact id or short name
 * wins; otherwise the prefix must fit exactly one proxy (ambiguous: the message lists the candidates).
 */
export function matchProxy(ids: readonly string[], wanted: string): ProxyMatch {
  const unique = [...new Set(ids)];
  const exact = unique.filter((id) => id === wanted || shortName(id) === wanted);
  if (exact.length === 1) return { ok: true, id: exact[0]! };
  const candidates = exact.length > 1 ? exact : unique.filter((id) => id.startsWith(wanted) || shortName(id).startsWith(wanted));
  if (candidates.length === 1) return { ok: true, id: candidates[0]! };
  if (candidates.length === 0) {
    const known = unique.length === 0 ? 'no proxy is connected' : `connected: ${unique.map(shortName).sort().join(', ')}`;
    return { ok: false, message: `no connected proxy matches "${wanted}" (${known})` };
  }
  const listed = candidates.map((id) => `  ${shortName(id)}${shortName(id) === id ? '' : `  (${id})`}`).sort();
  return { ok: false, message: `"${wanted}" matches ${candidates.length} proxies; give more of the name:\n${listed.join('\n')}` };
}
