// The validated form of an Envoy v3 bootstrap's `static_resources` subset.
// Produced once by parseBootstrap (the edge), stored in LMDB by the agent and
// compiled by each worker. Plain data only (no RegExp, no Map) so it survives
// msgpack/structured clone unchanged; workers build their own lookup tables.

export interface SocketAddress {
  readonly address: string; // IPv4 or IPv6 literal (no brackets)
  readonly port: number; // 0 = let the kernel choose (agent resolves it once)
}

export interface Bootstrap {
  readonly listeners: readonly Listener[];
  readonly clusters: readonly Cluster[];
  /** From bootstrap `admin.address.socket_address`, when given. */
  readonly admin?: SocketAddress;
}

export interface Listener {
  readonly name: string;
  readonly address: SocketAddress;
  /** http_connection_manager.stat_prefix */
  readonly statPrefix: string;
  readonly routeConfig: RouteConfig;
  /** http_connection_manager.stream_idle_timeout, ms; default 300000. */
  readonly streamIdleTimeoutMs: number;
  /** http_connection_manager.request_headers_timeout, ms; 0 = none (default). */
  readonly requestHeadersTimeoutMs: number;
}

/** Header mutation shared by route config, virtual host and route level. */
export interface HeaderMutation {
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[]; // lowercased
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[]; // lowercased
}

export interface HeaderValueOption {
  readonly key: string; // lowercased
  readonly value: string;
  /** true: append a value (APPEND_IF_EXISTS_OR_ADD); false: overwrite (OVERWRITE_IF_EXISTS_OR_ADD). */
  readonly append: boolean;
}

export interface RouteConfig extends HeaderMutation {
  readonly name: string;
  readonly virtualHosts: readonly VirtualHost[];
}

export interface VirtualHost extends HeaderMutation {
  readonly name: string;
  /** Lowercased: exact ("a.com", "a.com:80"), suffix wildcard ("*.a.com"), prefix wildcard ("a.*") or "*". */
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
}

export interface Route extends HeaderMutation {
  readonly name: string; // "" when not given
  readonly match: RouteMatch;
  readonly action: RouteAction | RedirectAction | DirectResponseAction;
}

export type PathMatchKind = 'prefix' | 'path' | 'safe_regex';

export interface RouteMatch {
  readonly kind: PathMatchKind;
  /** prefix/path literal, or the regex source (RE2 syntax, full match of the path without query). */
  readonly value: string;
  /** Applies to prefix and path; default true. */
  readonly caseSensitive: boolean;
  readonly headers: readonly HeaderMatcher[];
  readonly queryParameters: readonly QueryParameterMatcher[];
}

export type StringMatchKind = 'exact' | 'prefix' | 'suffix' | 'contains' | 'regex';

export interface StringMatch {
  readonly kind: StringMatchKind;
  readonly value: string; // regex: source, full match
  readonly ignoreCase: boolean;
}

export interface HeaderMatcher {
  readonly name: string; // lowercased
  /** null with present=true: header must be present (present_match). */
  readonly match: StringMatch | null;
  /** present_match value; when false the header must be absent. Ignored when match is set. */
  readonly present: boolean;
  readonly invert: boolean;
}

export interface QueryParameterMatcher {
  readonly name: string; // case-sensitive as in Envoy
  /** null: present_match */
  readonly match: StringMatch | null;
}

export type RetryOn =
  | '5xx'
  | 'gateway-error'
  | 'connect-failure'
  | 'reset'
  | 'retriable-status-codes'
  // HTTP/2 and gRPC conditions: accepted, never met on HTTP/1.1 upstreams.
  | 'refused-stream'
  | 'unavailable'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'resource-exhausted';

export interface RetryPolicy {
  readonly retryOn: readonly RetryOn[];
  /** num_retries; Envoy default 1. */
  readonly numRetries: number;
  /** per_try_timeout in ms; 0 = the route timeout bounds each try. */
  readonly perTryTimeoutMs: number;
  /** retry_back_off.base_interval, ms; default 25. */
  readonly backOffBaseMs: number;
  /** retry_back_off.max_interval, ms; default 10 x base. */
  readonly backOffMaxMs: number;
  readonly retriableStatusCodes: readonly number[];
}

export interface WeightedClusterEntry {
  readonly name: string;
  readonly weight: number;
}

export interface RouteAction {
  readonly type: 'route';
  /** A plain `cluster` is one entry of weight 1. */
  readonly clusters: readonly WeightedClusterEntry[];
  readonly totalWeight: number;
  /** timeout, ms; Envoy default 15000; 0 = none. */
  readonly timeoutMs: number;
  readonly retryPolicy: RetryPolicy | null;
  readonly prefixRewrite: string | null;
  readonly hostRewriteLiteral: string | null;
}

export interface RedirectAction {
  readonly type: 'redirect';
  readonly schemeRedirect: string | null; // also set by https_redirect: true
  readonly hostRedirect: string | null;
  readonly portRedirect: number | null;
  readonly pathRedirect: string | null;
  readonly prefixRewrite: string | null;
  /** 301 (default), 302, 303, 307, 308 */
  readonly responseCode: number;
  readonly stripQuery: boolean;
}

export interface DirectResponseAction {
  readonly type: 'direct_response';
  readonly status: number;
  /** body.inline_string; null when no body */
  readonly body: string | null;
}

export type LbPolicy = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST';

export interface Cluster {
  readonly name: string;
  readonly type: 'STATIC';
  /** connect_timeout, ms; Envoy default 5000. */
  readonly connectTimeoutMs: number;
  readonly lbPolicy: LbPolicy;
  readonly endpoints: readonly Endpoint[];
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  /** load_balancing_weight; default 1. */
  readonly weight: number;
}
