// What routing needs to know about a request, independent of how the codec
// stores it. Valid only while the request's head is being handled.

export interface RequestView {
  readonly method: string;
  /** Path without the query, as received (an absolute-form target already reduced to its path). */
  readonly path: string;
  /** After '?', '' when none. */
  readonly query: string;
  /** Host (or the absolute-form authority), lowercased, may include ':port'. */
  readonly authority: string;
  /** Flat [name0, value0, name1, value1, ...], names lowercased. */
  readonly headers: readonly string[];
}

/**
 * The value a header matcher sees: all values of `name` joined with ',' (as Envoy
 * does), or null when absent. Pseudo-headers (and `host`, which HTTP/1 carries as
 * :authority) come from the request line. Allocates only for a repeated header.
 */
export function headerValueForMatch(req: RequestView, name: string): string | null {
  if (name.charCodeAt(0) === 58 /* ':' */ || name === 'host') {
    if (name === ':authority' || name === 'host') return req.authority;
    if (name === ':method') return req.method;
    if (name === ':path') return req.query === '' ? req.path : `${req.path}?${req.query}`;
    return null;
  }
  const h = req.headers;
  let found: string | null = null;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] !== name) continue;
    found = found === null ? h[i + 1]! : `${found},${h[i + 1]!}`;
  }
  return found;
}
