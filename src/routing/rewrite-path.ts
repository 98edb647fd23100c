// prefix_rewrite, as Envoy applies it: the part of the path the route matched
// is replaced. For a prefix match that is the prefix's length; for a path or
// safe_regex match it is the whole path (a query, if passed along, is kept).

import type { Route, RouteMatch } from '../config/bootstrap-types.js';

/** Takes a route match and a path; returns how many leading characters of path the match covered. */
export function matchedLength(match: RouteMatch, path: string): number {
  if (match.kind === 'prefix') return Math.min(match.value.length, path.length);
  const q = path.indexOf('?');
  return q === -1 ? path.length : q;
}

/** Takes the matched route, the request path and the rewrite; returns the new path. */
export function rewritePath(route: Route, path: string, prefixRewrite: string): string {
  return prefixRewrite + path.slice(matchedLength(route.match, path));
}
