// The Location of a redirect route, built the way Envoy's Http::Utility::newUri
// does: scheme, host and port from the action or the request; the request's
// port is dropped when a port_redirect replaces it or when the scheme changes
// away from that scheme's default port; the query is kept unless strip_query,
// and a path_redirect that carries its own query wins over the request's.

import type { RedirectAction, RouteMatch } from '../config/bootstrap-types.js';
import { isFieldValueSafe } from '../config/head-text.js';
import type { RequestView } from './request-view.js';
import { matchedLength } from './rewrite-path.js';
import { portColon } from './virtual-host-index.js';

/**
 * The match each redirect action belongs to, recorded by RouteTable.compile so a
 * prefix_rewrite redirect works with the three-argument call as well.
 */
const matchOfAction = new WeakMap<RedirectAction, RouteMatch>();

export function registerRedirectMatch(action: RedirectAction, match: RouteMatch): void {
  matchOfAction.set(action, match);
}

function requestHost(authority: string, newScheme: string, requestScheme: string, portReplaced: boolean): string {
  const colon = portColon(authority);
  if (colon === -1) return authority;
  const port = authority.slice(colon + 1);
  let removePort = portReplaced;
  if (newScheme !== requestScheme) {
    removePort ||= (requestScheme === 'https' && port === '443') || (requestScheme === 'http' && port === '80');
  }
  return removePort ? authority.slice(0, colon) : authority;
}

/**
 * Takes a redirect action, the request and the request's scheme ('http' for now); returns the Location,
 * or null when it would hold a character that cannot go into a header value (CR, LF, NUL, ...): the
 * readers refuse such config, and this keeps a Location composed from config and request data from
 * ever splitting the client's response head.
 * `match` is the route's match, needed for prefix_rewrite; it defaults to the one RouteTable.compile saw.
 */
export function redirectLocation(action: RedirectAction, req: RequestView, scheme: string, match?: RouteMatch): string | null {
  const finalScheme = action.schemeRedirect ?? scheme;
  const finalPort = action.portRedirect === null ? '' : `:${action.portRedirect}`;
  const host = action.hostRedirect ?? requestHost(req.authority, finalScheme, scheme, action.portRedirect !== null);
  const query = action.stripQuery || req.query === '' ? '' : `?${req.query}`;
  let path: string;
  if (action.pathRedirect !== null) {
    path = action.pathRedirect.includes('?') ? action.pathRedirect : action.pathRedirect + query;
  } else if (action.prefixRewrite !== null) {
    const m = match ?? matchOfAction.get(action);
    const rest = m === undefined ? req.path : req.path.slice(matchedLength(m, req.path));
    path = action.prefixRewrite + rest + query;
  } else {
    path = req.path + query;
  }
  const location = `${finalScheme}://${host}${finalPort}${path}`;
  return isFieldValueSafe(location) ? location : null;
}
