// A VirtualService's http rules as Envoy routes, the way Istio writes them:
// one route per match condition (conditions of a rule are ORed), weighted
// clusters to subsets, rewrite/redirect/direct response, timeout (0s = none),
// retries (the mesh default unless the rule sets its own), fault and CORS as
// per-route filter config, mirrors and header mutations.
import { DEFAULT_MAX_PROGRAM_SIZE, ISTIO_MAX_PROGRAM_SIZE, re2ProgramSize } from '../../src/config/re2-regex.js';
import { PREVIOUS_HOSTS_PREDICATE, PREVIOUS_HOSTS_TYPE_URL } from '../../src/config/retry-policy.js';
import type {
  CorsPolicy, Destination, HeaderOperations, HttpFaultInjection, HttpMatchRequest, HttpRetry, HttpRoute, IstioStringMatch,
} from '../config/istio-types.js';
import { labelsMatch } from '../registry/registry-types.js';
import type { ServiceRegistry } from '../registry/service-registry.js';
import { outboundClusterName } from './cluster-name.js';
import {
  CORS_FILTER, CORS_POLICY_TYPE, duration, FAULT_FILTER, FAULT_TYPE, fractionalPercent, wrapped,
} from './envoy-values.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { effectivePolicy, routeHashPolicy } from './traffic-policy.js';

/** What building routes needs, and what it reports back (clusters the routes name, filters they need). */
export interface RouteContext {
  readonly proxy: ProxyIdentity;
  readonly config: MeshConfig;
  readonly registry: ServiceRegistry;
  /** Port of the virtual host being built: the default port of destinations that do not name one. */
  readonly port: number;
  readonly referencedClusters: Set<string>;
  readonly usedFilters: Set<string>;
}

/** Istio's mesh default retry policy (pilot/pkg/networking/core/route/retry): retries prefer hosts not yet tried. */
export function defaultRetryPolicy(): Record<string, unknown> {
  return {
    retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
    num_retries: wrapped(2),
    retry_host_predicate: [{ name: PREVIOUS_HOSTS_PREDICATE, typed_config: { '@type': PREVIOUS_HOSTS_TYPE_URL } }],
    host_selection_retry_max_attempts: 5,
  };
}

/** Istio's ConvertPolicy: absent = the default; attempts 0 = none; numbers in retryOn are status codes. */
export function retryPolicy(retries: HttpRetry | undefined): Record<string, unknown> | undefined {
  if (retries === undefined) return defaultRetryPolicy();
  if (retries.attempts <= 0) return undefined;
  const out = defaultRetryPolicy();
  out.num_retries = wrapped(retries.attempts);
  if (retries.retryOn.length > 0) {
    const codes: number[] = [];
    const conditions: string[] = [];
    for (const part of retries.retryOn) {
      if (/^[1-5]\d\d$/.test(part)) codes.push(Number(part));
      else conditions.push(part);
    }
    if (codes.length > 0 && !conditions.includes('retriable-status-codes')) conditions.push('retriable-status-codes');
    out.retry_on = conditions.join(',');
    if (codes.length > 0) out.retriable_status_codes = codes;
  }
  if (retries.perTryTimeoutMs !== undefined) out.per_try_timeout = duration(retries.perTryTimeoutMs);
  return out;
}

/**
 * Envoy's RegexMatcher for an Istio regex. Istio's bootstrap raises Envoy's program size limit to 32768 (runtime
 * re2.max_program_size.error_level); a regex over Envoy's default of 100 carries that limit itself.
 */
function safeRegex(regex: string): object {
  return re2ProgramSize(regex) > DEFAULT_MAX_PROGRAM_SIZE ? { google_re2: { max_program_size: { value: ISTIO_MAX_PROGRAM_SIZE } }, regex } : { regex };
}

export function stringMatcher(m: IstioStringMatch): object {
  switch (m.kind) {
    case 'exact':
      return { exact: m.value };
    case 'prefix':
      return { prefix: m.value };
    case 'regex':
      return { safe_regex: safeRegex(m.value) };
  }
}

function routeMatch(m: HttpMatchRequest | undefined): object {
  const out: Record<string, unknown> = {};
  const uri = m?.uri;
  if (uri === undefined || (uri.kind === 'prefix' && uri.value === '')) out.prefix = '/';
  else if (uri.kind === 'exact') out.path = uri.value;
  else if (uri.kind === 'prefix') out.prefix = uri.value;
  else out.safe_regex = safeRegex(uri.value);
  if (m === undefined) return out;
  const headers: object[] = m.headers.map((h) => ({ name: h.name, string_match: stringMatcher(h.match) }));
  if (m.method !== undefined) headers.push({ name: ':method', string_match: stringMatcher(m.method) });
  if (m.authority !== undefined) headers.push({ name: ':authority', string_match: stringMatcher(m.authority) });
  if (headers.length > 0) out.headers = headers;
  if (m.queryParams.length > 0) out.query_parameters = m.queryParams.map((q) => ({ name: q.name, string_match: stringMatcher(q.match) }));
  return out;
}

/** Header operations as Envoy's request/response add/remove lists (set overwrites, add appends). */
export function headerMutations(request: HeaderOperations, response: HeaderOperations): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const adds = (ops: HeaderOperations): object[] => [
    ...ops.set.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' })),
    ...ops.add.map((h) => ({ header: { key: h.name, value: h.value }, append_action: 'APPEND_IF_EXISTS_OR_ADD' })),
  ];
  const requestAdds = adds(request);
  const responseAdds = adds(response);
  if (requestAdds.length > 0) out.request_headers_to_add = requestAdds;
  if (request.remove.length > 0) out.request_headers_to_remove = request.remove.slice();
  if (responseAdds.length > 0) out.response_headers_to_add = responseAdds;
  if (response.remove.length > 0) out.response_headers_to_remove = response.remove.slice();
  return out;
}

/** The cluster a destination names: its port, else the host's only port, else the virtual host's port. */
export function destinationCluster(d: Destination, cx: RouteContext): string {
  let port = d.port;
  if (port === undefined) {
    const ports = cx.registry.service(d.host.fqdn)?.ports ?? [];
    port = ports.length === 1 ? ports[0]!.number : (ports.find((p) => p.number === cx.port)?.number ?? ports[0]?.number ?? cx.port);
  }
  const name = outboundClusterName(d.host.fqdn, port, d.subset ?? '');
  cx.referencedClusters.add(name);
  return name;
}

function faultConfig(fault: HttpFaultInjection): object {
  const out: Record<string, unknown> = { '@type': FAULT_TYPE };
  if (fault.delay !== undefined) {
    out.delay = { fixed_delay: duration(fault.delay.fixedDelayMs), percentage: fractionalPercent(fault.delay.percentage) };
  }
  if (fault.abort !== undefined) {
    out.abort = { http_status: fault.abort.httpStatus, percentage: fractionalPercent(fault.abort.percentage) };
  }
  return out;
}

function corsConfig(cors: CorsPolicy): object {
  const out: Record<string, unknown> = {
    '@type': CORS_POLICY_TYPE,
    allow_origin_string_match: cors.allowOrigins.map(stringMatcher),
  };
  if (cors.allowMethods.length > 0) out.allow_methods = cors.allowMethods.join(',');
  if (cors.allowHeaders.length > 0) out.allow_headers = cors.allowHeaders.join(',');
  if (cors.exposeHeaders.length > 0) out.expose_headers = cors.exposeHeaders.join(',');
  if (cors.maxAgeMs !== undefined) out.max_age = String(Math.floor(cors.maxAgeMs / 1000));
  if (cors.allowCredentials !== undefined) out.allow_credentials = { value: cors.allowCredentials };
  return out;
}

function routeAction(http: HttpRoute, cx: RouteContext): Record<string, unknown> {
  const action: Record<string, unknown> = {};
  const destinations = http.route.filter((d) => d.weight > 0);
  if (destinations.length === 1) {
    action.cluster = destinationCluster(destinations[0]!.destination, cx);
  } else {
    action.weighted_clusters = {
      clusters: destinations.map((d) => ({
        name: destinationCluster(d.destination, cx),
        weight: wrapped(d.weight),
        ...headerMutations(d.headers.request, d.headers.response),
      })),
    };
  }
  action.timeout = duration(http.timeoutMs ?? 0);
  const retry = retryPolicy(http.retries);
  if (retry !== undefined) action.retry_policy = retry;
  if (http.rewrite?.uri !== undefined) action.prefix_rewrite = http.rewrite.uri;
  if (http.rewrite?.authority !== undefined) action.host_rewrite_literal = http.rewrite.authority;
  if (http.mirror !== undefined) {
    action.request_mirror_policies = [{
      cluster: destinationCluster(http.mirror, cx),
      runtime_fraction: { default_value: fractionalPercent(http.mirrorPercentage ?? 100) },
    }];
  }
  if (destinations.length === 1) {
    const d = destinations[0]!.destination;
    const host = cx.registry.service(d.host.fqdn);
    const rule = cx.config.destinationRuleFor(d.host.fqdn, cx.proxy.namespace, host?.namespace ?? cx.proxy.namespace);
    const hash = routeHashPolicy(effectivePolicy(rule, d.subset ?? ''));
    if (hash !== undefined) action.hash_policy = hash;
  }
  return action;
}

const REDIRECT_CODES: Readonly<Record<number, string>> = {
  301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT',
};

/** The Envoy routes of one http rule for this proxy (none when its sourceLabels exclude the proxy). */
export function buildHttpRoutes(http: HttpRoute, cx: RouteContext): object[] {
  const matches: (HttpMatchRequest | undefined)[] = http.match.length === 0 ? [undefined] : [...http.match];
  const applicable = matches.filter((m) => m === undefined || (labelsMatch(m.sourceLabels, cx.proxy.labels) && (m.port === undefined || m.port === cx.port)));
  if (applicable.length === 0) return [];
  const common: Record<string, unknown> = {};
  if (http.redirect !== undefined) {
    common.redirect = {
      ...(http.redirect.uri !== undefined ? { path_redirect: http.redirect.uri } : {}),
      ...(http.redirect.authority !== undefined ? { host_redirect: http.redirect.authority } : {}),
      response_code: REDIRECT_CODES[http.redirect.redirectCode] ?? 'MOVED_PERMANENTLY',
    };
  } else if (http.directResponse !== undefined) {
    common.direct_response = {
      status: http.directResponse.status,
      ...(http.directResponse.body !== undefined ? { body: { inline_string: http.directResponse.body } } : {}),
    };
  } else {
    common.route = routeAction(http, cx);
  }
  // A single destination's own header operations apply to the whole route.
  const single = http.route.length === 1 ? http.route[0]!.headers : undefined;
  const request = single === undefined ? http.headers.request : mergeOps(http.headers.request, single.request);
  const response = single === undefined ? http.headers.response : mergeOps(http.headers.response, single.response);
  Object.assign(common, headerMutations(request, response));
  const perFilter: Record<string, object> = {};
  if (http.fault !== undefined) {
    perFilter[FAULT_FILTER] = faultConfig(http.fault);
    cx.usedFilters.add(FAULT_FILTER);
  }
  if (http.corsPolicy !== undefined) {
    perFilter[CORS_FILTER] = corsConfig(http.corsPolicy);
    cx.usedFilters.add(CORS_FILTER);
  }
  if (Object.keys(perFilter).length > 0) common.typed_per_filter_config = perFilter;
  return applicable.map((m) => {
    const name = m?.name ? (http.name ? `${http.name}.${m.name}` : m.name) : http.name;
    return { ...(name ? { name } : {}), match: routeMatch(m), ...common };
  });
}

function mergeOps(a: HeaderOperations, b: HeaderOperations): HeaderOperations {
  return { set: [...a.set, ...b.set], add: [...a.add, ...b.add], remove: [...a.remove, ...b.remove] };
}

/** The route used when no VirtualService covers a service: everything to its cluster, with the mesh defaults. */
export function defaultRoute(cluster: string): object {
  return { name: 'default', match: { prefix: '/' }, route: { cluster, timeout: duration(0), retry_policy: defaultRetryPolicy() } };
}
