// Query parameters for route matching, parsed only when a candidate route has
// query matchers, and at most once per request.

/** Takes the query (after '?'); returns each name's first value, percent-decoded ('+' as space). */
export function parseQueryForMatch(query: string): Map<string, string> {
  const params = new Map<string, string>();
  if (query === '') return params;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end > start) {
      const eq = query.indexOf('=', start);
      const hasValue = eq !== -1 && eq < end;
      const name = decode(query.slice(start, hasValue ? eq : end));
      if (!params.has(name)) params.set(name, hasValue ? decode(query.slice(eq + 1, end)) : '');
    }
    start = end + 1;
  }
  return params;
}

function decode(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced; // malformed escapes are matched as written, never thrown on the data path
  }
}
