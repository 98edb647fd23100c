// Accept-Encoding negotiation as Envoy's compressor filter does it: among the
// encodings the chain's compressors offer, the one with the highest q-value
// (an explicit token, else `*`), ties to the earlier compressor in the chain;
// none when identity is preferred over every offered one or nothing is
// acceptable (q=0 refuses).

/** q-value of a token in an Accept-Encoding value; -1 when the token is not named. */
function qOf(params: string): number {
  const m = /;\s*q\s*=\s*([0-9.]+)/i.exec(params);
  if (m === null) return 1;
  const q = Number(m[1]);
  return Number.isFinite(q) ? Math.min(1, Math.max(0, q)) : 0;
}

/** Takes the request's Accept-Encoding (undefined: absent) and the offered encodings in chain order; returns the chosen one or null. */
export function chooseEncoding(acceptEncoding: string | undefined, offered: readonly string[]): string | null {
  if (acceptEncoding === undefined || acceptEncoding.length > 4096) return null;
  const named = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const semi = part.indexOf(';');
    const token = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    if (token === '') continue;
    const q = semi < 0 ? 1 : qOf(part.slice(semi));
    if (!named.has(token)) named.set(token, q);
  }
  const star = named.get('*');
  let best: string | null = null;
  let bestQ = 0;
  for (const encoding of offered) {
    const q = named.get(encoding) ?? star ?? 0;
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  if (best === null) return null;
  const identity = named.get('identity');
  // identity named with a higher q: the client prefers the body as it is.
  if (identity !== undefined && identity > bestQ) return null;
  return best;
}
