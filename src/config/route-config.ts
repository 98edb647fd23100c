// config.route.v3.RouteConfiguration (inline in the HTTP connection manager):
// virtual hosts, their domains and their routes in order.

import type { HeaderMatcher, Route, RouteConfig, RouteMatch, VirtualHost } from './bootstrap-types.js';
import { readHeaderMutation } from './header-mutation.js';
import { readPerFilterConfig } from './per-filter-config.js';
import { readDirectResponse, readRedirectAction, readRouteAction, type ClusterReference } from './route-action.js';
import { readHeaderMatcher, readQueryParameterMatcher, readRegexMatcher } from './string-match.js';
import type { ValueReader } from './yaml-reader.js';

const DOMAIN_CHARS = /^[a-z0-9._~!$&'()*+,;=:[\]-]+$/;

/** RouteMatch.grpc as a header matcher: Envoy's gRPC request test (content-type application/grpc or application/grpc+<codec>). */
const GRPC_CONTENT_TYPE: HeaderMatcher = {
  name: 'content-type', match: { kind: 'regex', value: 'application/grpc(\\+.*)?', ignoreCase: false }, present: true, invert: false,
};

/** RouteMatch.connect_matcher as a header matcher. */
const CONNECT_METHOD: HeaderMatcher = { name: ':method', match: { kind: 'exact', value: 'CONNECT', ignoreCase: false }, present: true, invert: false };

function readMatch(v: ValueReader): RouteMatch | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['prefix', 'path', 'safe_regex', 'connect_matcher'], true);
  // connect_matcher: {} (no fields) takes CONNECT requests only: any path, and a :method matcher.
  const connect = which === 'connect_matcher';
  const kind = connect ? 'prefix' : which;
  let value: string | undefined;
  if (connect) {
    obj.field('connect_matcher').object()?.done();
    value = '';
  } else if (kind === 'prefix') value = obj.field('prefix').string();
  else if (kind === 'path') value = obj.field('path').string();
  else if (kind === 'safe_regex') value = readRegexMatcher(obj.field('safe_regex'));
  const caseSensitive = obj.field('case_sensitive').bool() ?? true;
  const headers = obj.field('headers').listOf(readHeaderMatcher);
  const queryParameters = obj.field('query_parameters').listOf(readQueryParameterMatcher);
  // grpc: {} (GrpcRouteMatchOptions, no fields): only gRPC requests match (Envoy's grpc-bridge sandbox).
  const grpcField = obj.field('grpc');
  const grpc = !grpcField.missing;
  if (grpc) grpcField.object()?.done();
  obj.done();
  if (kind === undefined || kind === null || value === undefined || headers === undefined || queryParameters === undefined) return undefined;
  const implied = [...(grpc ? [GRPC_CONTENT_TYPE] : []), ...(connect ? [CONNECT_METHOD] : [])];
  return { kind, value, caseSensitive, headers: implied.length > 0 ? [...headers, ...implied] : headers, queryParameters };
}

function readRoute(v: ValueReader, refs: ClusterReference[]): Route | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const name = obj.field('name').string() ?? '';
  const matchField = obj.field('match');
  matchField.require();
  const match = readMatch(matchField);
  const which = obj.oneOf(['route', 'redirect', 'direct_response'], true);
  // The deprecated route-level `cors` sits in the route action.
  let actionCors: ValueReader | undefined;
  const action = which === 'route' ? readRouteAction(obj.field('route'), refs, (actionObj) => { actionCors = actionObj.field('cors'); })
    : which === 'redirect' ? readRedirectAction(obj.field('redirect'))
    : which === 'direct_response' ? readDirectResponse(obj.field('direct_response'))
    : undefined;
  const mutation = readHeaderMutation(obj);
  const perFilter = readPerFilterConfig(obj, actionCors ?? null);
  // decorator names the route's tracing span: accepted (checked), no effect until tracing spans exist.
  const decoratorField = obj.field('decorator');
  const decorator = decoratorField.object();
  if (decorator !== undefined) {
    const op = decorator.field('operation');
    op.require();
    op.nonEmptyString();
    decorator.field('propagate').bool();
    decorator.done();
  }
  obj.done();
  if (match === undefined || action === undefined || perFilter === undefined) return undefined;
  return { name, match, action, ...mutation, ...perFilter };
}

function readDomain(v: ValueReader): string | undefined {
  const raw = v.nonEmptyString();
  if (raw === undefined) return undefined;
  const domain = raw.toLowerCase();
  if (!DOMAIN_CHARS.test(domain)) {
    v.problem(`is not a valid domain: "${raw}"`);
    return undefined;
  }
  const star = domain.indexOf('*');
  if (star !== -1 && domain !== '*' && !(star === 0 && domain.indexOf('*', 1) === -1) && !(star === domain.length - 1)) {
    v.problem(`may use "*" only as the whole domain, its first character or its last character: "${raw}"`);
    return undefined;
  }
  return domain;
}

function readVirtualHost(v: ValueReader, refs: ClusterReference[], seenDomains: Map<string, string>): VirtualHost | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.nonEmptyString();
  const domainsField = obj.field('domains');
  domainsField.require();
  const domains: string[] = [];
  const items = domainsField.list();
  if (!domainsField.missing && items.length === 0) domainsField.problem('must list at least one domain');
  for (const item of items) {
    const domain = readDomain(item);
    if (domain === undefined) continue;
    const owner = seenDomains.get(domain);
    if (owner !== undefined) {
      item.problem(owner === (name ?? v.path)
        ? `"${domain}" is listed twice`
        : `"${domain}" is already a domain of virtual host "${owner}"; a domain may belong to only one virtual host`);
      continue;
    }
    seenDomains.set(domain, name ?? v.path);
    domains.push(domain);
  }
  const routes = obj.field('routes').listOf((item) => readRoute(item, refs));
  const mutation = readHeaderMutation(obj);
  const perFilter = readPerFilterConfig(obj, obj.field('cors'));
  obj.done();
  if (name === undefined || domains.length === 0 || routes === undefined || perFilter === undefined) return undefined;
  return { name, domains, routes, ...mutation, ...perFilter };
}

/** config.route.v3.RouteConfiguration; cluster names the routes use are appended to refs. */
export function readRouteConfig(v: ValueReader, refs: ClusterReference[]): RouteConfig | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const name = obj.field('name').string() ?? '';
  const virtualHosts: VirtualHost[] = [];
  const seenDomains = new Map<string, string>();
  const seenNames = new Set<string>();
  let ok = true;
  for (const item of obj.field('virtual_hosts').list()) {
    const vh = readVirtualHost(item, refs, seenDomains);
    if (vh === undefined) {
      ok = false;
      continue;
    }
    if (seenNames.has(vh.name)) {
      item.problem(`repeats virtual host name "${vh.name}"`);
      ok = false;
    }
    seenNames.add(vh.name);
    virtualHosts.push(vh);
  }
  const mutation = readHeaderMutation(obj);
  obj.done();
  if (!ok) return undefined;
  return { name, virtualHosts, ...mutation };
}
