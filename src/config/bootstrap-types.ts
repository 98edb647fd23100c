import type { ExtAuthzConfig } from './ext-authz-config.js';
import type { MixerFilterConfig } from './mixer-filter-config.js';
import type { CodecType, Http2Options, UpstreamProtocol } from './http2-options.js';
import type { LocalRateLimitConfig } from './local-rate-limit-config.js';
import type { RbacConfig } from './rbac-config.js';
import type { CompressorConfig } from './compressor-config.js';
import type { RateLimitPolicy } from './rate-limit-actions.js';
export type { RateLimitPolicy, RateLimitAction } from './rate-limit-actions.js';
export type { CompressorConfig } from './compressor-config.js';
export type { LocalRateLimitConfig } from './local-rate-limit-config.js';
// The validated form of an Envoy v3 bootstrap's `static_resources` subset.
// Produced once by parseBootstrap (the edge), stored in LMDB by the agent and
// compiled by each worker. Plain data only (no RegExp, no Map) so it survives
// msgpack/structured clone unchanged; workers build their own lookup tables.
import type { TcpProxyConfig } from './tcp-proxy.js';
import type { UpgradeConfig } from './upgrade-config.js';

import type { AccessLogConfig } from './access-log-config.js';
import type { ClientCertDetails } from './client-cert-details.js';

import type { TracingConfig } from './tracing-config.js';

export interface SocketAddress {
  readonly address: string; // IPv4 or IPv6 literal (no brackets)
  readonly port: number; // 0 = let the kernel choose (agent resolves it once)
}

export interface Bootstrap {
  readonly listeners: readonly Listener[];
  readonly clusters: readonly Cluster[];
  /** From bootstrap `admin.address.socket_address`, when given. */
  readonly admin?: SocketAddress;
  /** admin.access_log_path: the admin API appends a line per request to it (read at startup only). */
  readonly adminAccessLogPath?: string;
  /** layered_runtime, when given. */
  readonly runtime?: RuntimeConfig;
}

/** layered_runtime: the keys this proxy honours, and the others (listed in a warning). */
export interface RuntimeConfig {
  /** overload.global_downstream_max_connections (read at startup). */
  readonly globalDownstreamMaxConnections: number | null;
  readonly ignoredKeys: readonly string[];
  /** disk_layer / rtds_layer layers, as `name (kind)`: not read by this proxy. */
  readonly unreadLayers: readonly string[];
}

/** The HTTP connection manager fields one filter chain runs (the Listener's own are its first chain's). */
export type ListenerHcm = Pick<Listener, 'statPrefix' | 'routeConfig' | 'streamIdleTimeoutMs' | 'requestHeadersTimeoutMs'
  | 'httpFilters' | 'pathNormalization' | 'codecType' | 'http2' | 'accessLogs' | 'forwarding' | 'localReply' | 'upgrades' | 'clientCertDetails' | 'scheme' | 'tracing'>;

/** http_connection_manager use_remote_address, xff_num_trusted_hops, skip_xff_append (Envoy's defaults: false, 0, false). */
export interface ForwardingConfig {
  readonly useRemoteAddress: boolean;
  readonly xffNumTrustedHops: number;
  readonly skipXffAppend: boolean;
}

/** config.listener.v3.FilterChainMatch: the fields we match on (empty = any). */
export interface FilterChainMatch {
  readonly serverNames: readonly string[]; // lowercased; "*.example.com" wildcards allowed
  readonly transportProtocol: '' | 'tls' | 'raw_buffer';
  readonly applicationProtocols: readonly string[];
}

/**
 * One filter chain: what selects it, its TLS termination (null = plaintext) and its network filter: the HTTP
 * connection manager, or a tcp_proxy (then `hcm` holds no routes and is not used).
 */
export interface FilterChain {
  readonly match: FilterChainMatch;
  readonly tls: DownstreamTls | null;
  readonly hcm: ListenerHcm;
  readonly tcpProxy: TcpProxyConfig | null;
}

/** extensions.transport_sockets.tls.v3.TlsCertificate, with the PEM text read (files at config load). */
export interface TlsCertificate {
  readonly chainPem: string;
  readonly keyPem: string;
  /** The files they came from (watched for reloads); null when inline. */
  readonly chainPath: string | null;
  readonly keyPath: string | null;
}

/** A subject-alt-name matcher (match_typed_subject_alt_names entry). */
export interface SanMatch {
  readonly type: 'URI' | 'DNS';
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains';
  readonly value: string;
  readonly ignoreCase: boolean;
}

/** extensions.transport_sockets.tls.v3.CommonTlsContext (the fields we support). */
export interface CommonTls {
  readonly certificates: readonly TlsCertificate[];
  readonly trustedCaPem: string | null;
  readonly trustedCaPath: string | null;
  readonly sanMatchers: readonly SanMatch[];
  readonly alpn: readonly string[];
  /** TLS wire versions: 0x0303 = 1.2, 0x0304 = 1.3. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** tls_certificate_sds_secret_configs: the SDS secret holding the certificate (resolved where the data plane builds the context). */
  readonly certificateSecret?: string;
  /** validation_context_sds_secret_config (or combined_validation_context's): the SDS secret holding the trusted CA. */
  readonly validationSecret?: string;
}

export interface DownstreamTls extends CommonTls {
  readonly requireClientCertificate: boolean;
}

export interface UpstreamTls extends CommonTls {
  readonly sni: string;
}

export interface Listener {
  readonly name: string;
  readonly address: SocketAddress;
  /** envoy.filters.listener.tls_inspector is configured: the ClientHello is peeked to choose a chain. */
  readonly tlsInspector: boolean;
  /** envoy.filters.listener.http_inspector is configured: the first bytes tell HTTP/1.x or h2c (ALPN-like) from raw TCP. */
  readonly httpInspector: boolean;
  /** listener_filters_timeout, ms (default 15000; 0 = none): how long the tls_inspector waits for a ClientHello. */
  readonly listenerFiltersTimeoutMs: number;
  /** continue_on_listener_filters_timeout: at the timeout, choose a chain with what is known instead of closing. */
  readonly continueOnListenerFiltersTimeout: boolean;
  /** At least one; the first chain's HCM fields are also the listener's own fields below. */
  readonly filterChains: readonly FilterChain[];
  /** http_connection_manager.stat_prefix */
  readonly statPrefix: string;
  readonly routeConfig: RouteConfig;
  /** http_connection_manager.stream_idle_timeout, ms; default 300000. */
  readonly streamIdleTimeoutMs: number;
  /** http_connection_manager.request_headers_timeout, ms; 0 = none (default). */
  readonly requestHeadersTimeoutMs: number;
  /** The HTTP filters before the router, in chain order (the router is implied and last). */
  readonly httpFilters: HttpFilters;
  /** http_connection_manager normalize_path, merge_slashes, path_with_escaped_slashes_action. */
  readonly pathNormalization: PathNormalization;
  /** http_connection_manager.codec_type: AUTO (HTTP/2 by ALPN h2 or the client preface), HTTP1, HTTP2. */
  readonly codecType: CodecType;
  /** http_connection_manager.http2_protocol_options (+ max_request_headers_kb as the header list limit). */
  readonly http2: Http2Options;
  /** http_connection_manager.access_log: the loggers each request of this chain is offered to (empty: none). */
  readonly accessLogs: readonly AccessLogConfig[];
  /** http_connection_manager x-forwarded-for handling. */
  readonly forwarding: ForwardingConfig;
  /** http_connection_manager local_reply_config; null when not set. */
  readonly localReply: LocalReplyConfig | null;
  /** http_connection_manager upgrade_configs: upgrade types relayed as bytes (none listed: Upgrade is stripped). */
  readonly upgrades: readonly UpgradeConfig[];
  /** forward_client_cert_details and set_current_client_cert_details: the XFCC header upstream. */
  readonly clientCertDetails: ClientCertDetails;
  /** http_connection_manager scheme_header_transformation: the request's :scheme ('' keeps the downstream's). */
  readonly scheme: SchemeTransformation;
  /** http_connection_manager.tracing (tracing-config.ts); null or absent: no tracing. */
  readonly tracing?: TracingConfig | null;
}

/** scheme_header_transformation: scheme_to_overwrite ('' none) or match_upstream (the upstream transport's). */
export interface SchemeTransformation {
  readonly overwrite: '' | 'http' | 'https';
  readonly matchUpstream: boolean;
}

/** http_connection_manager local_reply_config: mappers tried in order, then the body format. */
export interface LocalReplyConfig {
  readonly mappers: readonly LocalReplyMapper[];
  /** body_format for every local reply (a mapper's body_format_override wins); null keeps the plain text body. */
  readonly bodyFormat: LocalReplyFormat | null;
}

export interface LocalReplyMapper {
  readonly filter: LocalReplyFilter;
  /** status_code to answer with instead; null keeps the status. */
  readonly statusCode: number | null;
  /** body (inline_string) to answer with instead; null keeps the body. */
  readonly body: string | null;
  readonly bodyFormatOverride: LocalReplyFormat | null;
  /** headers_to_add (plain values). */
  readonly headersToAdd: readonly { readonly key: string; readonly value: string; readonly append: boolean }[];
}

/** An AccessLogFilter subset for local reply mappers. */
export type LocalReplyFilter =
  | { readonly kind: 'status'; readonly op: 'EQ' | 'GE' | 'LE'; readonly value: number }
  | { readonly kind: 'header'; readonly matcher: HeaderMatcher }
  | { readonly kind: 'flag'; readonly flags: readonly string[] }
  | { readonly kind: 'and' | 'or'; readonly filters: readonly LocalReplyFilter[] }
  | { readonly kind: 'not_health_check' | 'any' };

/** config.core.v3.SubstitutionFormatString: text_format / text_format_source.inline_string, or json_format. */
export interface LocalReplyFormat {
  readonly text: string | null;
  readonly json: Readonly<Record<string, unknown>> | null;
  /** content_type; default text/plain for text, application/json for json. */
  readonly contentType: string;
}

/** What Envoy's HTTP connection manager does to a request's path before routing (and for the upstream). */
export interface PathNormalization {
  /** normalize_path: RFC 3986 dot segments and percent-decoding of unreserved characters; default false. */
  readonly normalizePath: boolean;
  /** merge_slashes; default false. */
  readonly mergeSlashes: boolean;
  /** path_with_escaped_slashes_action (IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED, as in Envoy). */
  readonly escapedSlashes: EscapedSlashesAction;
}

export type EscapedSlashesAction = 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

/**
 * Which optional HTTP filters the listener's chain has. As in Envoy, a route's
 * or virtual host's typed_per_filter_config for a filter only takes effect when
 * that filter is in the chain.
 */
export interface HttpFilters {
  /** envoy.filters.http.fault: null when absent; its own config is the default for routes without an override. */
  readonly fault: FaultConfig | null;
  /** envoy.filters.http.cors present (policies come from virtual hosts / routes). */
  readonly cors: boolean;
  /** envoy.filters.http.local_ratelimit: null when absent; its own config is the default for routes without an override. */
  readonly localRateLimit: LocalRateLimitConfig | null;
  /** envoy.filters.http.rbac entries in chain order (Istio puts a DENY one before an ALLOW one); absent or empty: none. */
  readonly rbac?: readonly RbacConfig[];
  /** envoy.filters.http.compressor entries (at most one per encoding), in chain order. */
  readonly compressors: readonly CompressorConfig[];
  /** isthmus.filters.http.mixer (the policy filter); absent when not listed. */
  readonly mixer?: MixerFilterConfig;
  /** envoy.filters.http.ext_authz (gRPC Authorization server); absent when not listed. */
  readonly extAuthz?: ExtAuthzConfig;
  /** The names of the filters before the router, in the order http_filters lists them (the chain's order). */
  readonly order: readonly string[];
}

/**
 * A probability in [0, 1] from a FractionalPercent (numerator / denominator
 * HUNDRED|TEN_THOUSAND|MILLION) or a RuntimeFractionalPercent's default_value.
 */
export type Fraction = number;

/** extensions.filters.http.fault.v3.HTTPFault */
export interface FaultConfig {
  readonly delay: FaultDelay | null;
  readonly abort: FaultAbort | null;
  /** The fault applies only to requests matching all of these (empty: all). */
  readonly headers: readonly HeaderMatcher[];
  /** max_active_faults: null = unlimited. Counted per proxy (one counter shared by every worker and fault filter). */
  readonly maxActiveFaults: number | null;
}

export interface FaultDelay {
  /** fixed_delay in ms; null when header_delay is used instead. */
  readonly fixedDelayMs: number | null;
  /** header_delay: the delay comes from x-envoy-fault-delay-request (ms); off unless configured. */
  readonly headerDelay: boolean;
  readonly percentage: Fraction;
}

export interface FaultAbort {
  /** Exactly one of httpStatus, grpcStatus, headerAbort is set. */
  readonly httpStatus: number | null;
  readonly grpcStatus: number | null;
  /** header_abort: status from x-envoy-fault-abort-request / x-envoy-fault-abort-grpc-request; off unless configured. */
  readonly headerAbort: boolean;
  readonly percentage: Fraction;
}

/** CorsPolicy (route.v3.CorsPolicy / extensions.filters.http.cors.v3.CorsPolicy). */
export interface CorsPolicy {
  readonly allowOriginStringMatch: readonly StringMatch[];
  /** Verbatim comma-separated lists as Envoy takes them; null when not set. */
  readonly allowMethods: string | null;
  readonly allowHeaders: string | null;
  readonly exposeHeaders: string | null;
  /** max_age, seconds as a string (Envoy's type); null when not set. */
  readonly maxAge: string | null;
  /** null = not set (no access-control-allow-credentials header). */
  readonly allowCredentials: boolean | null;
  readonly allowPrivateNetworkAccess: boolean;
  /** filter_enabled runtime fraction; default 1 (enforced). */
  readonly filterEnabled: Fraction;
  /**
   * shadow_enabled runtime fraction; default 0. Where the filter is not enabled for a request but shadow
   * is, the origin is checked and counted (origin_valid / origin_invalid) and nothing is enforced or added.
   */
  readonly shadowEnabled?: Fraction;
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

/** typed_per_filter_config of a virtual host or route (and the deprecated `cors` fields), for the filters we run. */
export interface PerFilterConfig {
  /** 'envoy.filters.http.fault' override; null = inherit. */
  readonly fault: FaultConfig | null;
  /** 'envoy.filters.http.cors' CorsPolicy, or the `cors` field; null = inherit. */
  readonly cors: CorsPolicy | null;
  /** 'envoy.filters.http.local_ratelimit' override (its own bucket); null = inherit. */
  readonly localRateLimit: LocalRateLimitConfig | null;
  /** The compressor filter names a CompressorPerRoute `disabled: true` turns off here; null = inherit. */
  readonly disabledCompressors?: readonly string[] | null;
  /** typed_per_filter_config['envoy.filters.http.rbac']: an RBAC for this route, null = RBACPerRoute disabling it; absent = not set. */
  readonly rbac?: RbacConfig | null;
}

export interface VirtualHost extends HeaderMutation, PerFilterConfig {
  readonly name: string;
  /** Lowercased: exact ("a.com", "a.com:80"), suffix wildcard ("*.a.com"), prefix wildcard ("a.*") or "*". */
  readonly domains: readonly string[];
  readonly routes: readonly Route[];
}

/** Per-route filter config: the most specific level wins (route over virtual host over the listener's filter config). */
export interface Route extends HeaderMutation, PerFilterConfig {
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
  // HTTP/2 (an unprocessed refused stream is always sent again) and gRPC conditions (grpc-status of a trailers-only response).
  | 'refused-stream'
  | 'unavailable'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'resource-exhausted'
  | 'internal';

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
  /** retry_host_predicate envoy.retry_host_predicates.previous_hosts: retries avoid every host already tried. */
  readonly previousHostsPredicate: boolean;
  /** host_selection_retry_max_attempts; default 1. */
  readonly hostSelectionRetryMaxAttempts: number;
}

/** route.v3.RouteAction.HashPolicy, one of: */
export type HashPolicy =
  | { readonly kind: 'header'; readonly name: string; readonly terminal: boolean } // name lowercased
  | {
      readonly kind: 'cookie';
      readonly name: string;
      /** ttl in ms; when set and the cookie is absent, the proxy generates one and sets it on the response. */
      readonly ttlMs: number | null;
      readonly path: string | null;
      readonly terminal: boolean;
    }
  | { readonly kind: 'source_ip'; readonly terminal: boolean }
  | { readonly kind: 'query_parameter'; readonly name: string; readonly terminal: boolean };

/** route.v3.RouteAction.RequestMirrorPolicy: exactly one of cluster and clusterHeader is set. */
export interface RequestMirrorPolicy {
  readonly cluster?: string;
  /** cluster_header, lowercased: the shadow cluster is named per request by this header's first value (no copy when absent or unknown). */
  readonly clusterHeader?: string;
  /** runtime_fraction.default_value; 1 when not given. */
  readonly fraction: Fraction;
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
  /**
   * max_stream_duration.grpc_timeout_header_max, ms: when set, a request's grpc-timeout header is its route
   * timeout, bounded by this (0 = unbounded); null (unset) ignores grpc-timeout, as Envoy does.
   */
  readonly grpcTimeoutHeaderMaxMs?: number | null;
  readonly retryPolicy: RetryPolicy | null;
  readonly prefixRewrite: string | null;
  readonly hostRewriteLiteral: string | null;
  /** hash_policy, in order (RING_HASH / MAGLEV clusters use it; others ignore it, as Envoy does). */
  readonly hashPolicy: readonly HashPolicy[];
  readonly requestMirrorPolicies: readonly RequestMirrorPolicy[];
  /** upgrade_configs: overrides of the HCM's `enabled` per upgrade type. */
  readonly upgrades: readonly UpgradeConfig[];
  /** rate_limits: descriptors for the local rate limit (request_headers and generic_key actions). */
  readonly rateLimits: readonly RateLimitPolicy[];
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

/**
 * Envoy's lb_policy values, plus PEAK_EWMA: Linkerd's peak-EWMA latency x
 * load with power of two choices, an Isthmus extension selected by
 * `load_balancing_policy` with typed_config
 * `type.googleapis.com/isthmus.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma`.
 */
export type LbPolicy = 'ROUND_ROBIN' | 'RANDOM' | 'LEAST_REQUEST' | 'RING_HASH' | 'MAGLEV' | 'PEAK_EWMA';

export interface Cluster {
  readonly name: string;
  /** STATIC: IP endpoints. STRICT_DNS / LOGICAL_DNS: the agent resolves `dns.targets` and fills `endpoints`. */
  readonly type: ClusterType;
  /** The DNS fields of a STRICT_DNS / LOGICAL_DNS cluster; null for STATIC. */
  readonly dns: DnsSettings | null;
  /** connect_timeout, ms; Envoy default 5000. */
  readonly connectTimeoutMs: number;
  /** transport_socket envoy.transport_sockets.tls (UpstreamTlsContext); null = plaintext. */
  readonly tls: UpstreamTls | null;
  readonly lbPolicy: LbPolicy;
  /** ring_hash_lb_config; Envoy defaults 1024 / 8M. */
  readonly ringHash: { readonly minRingSize: number; readonly maxRingSize: number };
  /** maglev_lb_config.table_size; Envoy default 65537 (a prime). */
  readonly maglevTableSize: number;
  /** PEAK_EWMA's decay (Linkerd's default 10 s). */
  readonly peakEwmaDecayMs: number;
  /** circuit_breakers.thresholds, DEFAULT priority, Envoy's defaults filled in. Enforced across all workers. */
  readonly circuitBreakers: CircuitBreakers;
  readonly outlierDetection: OutlierDetection | null;
  /** health_checks: at most one, HTTP. */
  readonly healthCheck: HealthCheck | null;
  /** common_lb_config.healthy_panic_threshold, percent; default 50 (0 disables panic mode). */
  readonly healthyPanicThresholdPercent: number;
  /** common_lb_config.locality_weighted_lb_config: within a priority, pick a locality by its weight first. */
  readonly localityWeighted: boolean;
  /** load_assignment.policy.overprovisioning_factor, percent; default 140 (Envoy's 1.4). */
  readonly overprovisioningFactor: number;
  readonly endpoints: readonly Endpoint[];
  /** typed_extension_protocol_options HttpProtocolOptions: the protocol to endpoints (default HTTP1). */
  readonly upstreamProtocol?: UpstreamProtocol;
  /** Its http2_protocol_options (defaults when absent). */
  readonly upstreamHttp2?: Http2Options;
  /** common_http_protocol_options.idle_timeout, ms: a pooled connection idle this long is closed; 0 = never; default 1 h. */
  readonly upstreamIdleTimeoutMs?: number;
  /** common_http_protocol_options.max_requests_per_connection (or the deprecated cluster field): 0 = no limit. */
  readonly maxRequestsPerConnection?: number;
  /** Set by the agent (never by a config file): this cluster's record in the proxy's shared state. */
  readonly stateSlot?: number;
}

export type ClusterType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS';

export type DnsLookupFamily = 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';

/** The DNS fields of a STRICT_DNS / LOGICAL_DNS cluster (config.cluster.v3.Cluster). */
export interface DnsSettings {
  /** dns_lookup_family; Envoy's default AUTO (IPv6 first, IPv4 when there is none). */
  readonly lookupFamily: DnsLookupFamily;
  /** dns_refresh_rate, ms; Envoy's default 5000. */
  readonly refreshRateMs: number;
  /** respect_dns_ttl: refresh at the answer's TTL instead of dns_refresh_rate. */
  readonly respectTtl: boolean;
  /** dns_failure_refresh_rate base and max interval, ms (exponential back-off); both default to dns_refresh_rate. */
  readonly failureBaseMs: number;
  readonly failureMaxMs: number;
  /** The resolvers of dns_resolution_config / typed_dns_resolver_config (c-ares); empty = the system's (getaddrinfo). */
  readonly resolvers: readonly SocketAddress[];
  /** The names to resolve: one per hostname endpoint, with that endpoint's port, weight, locality and priority. */
  readonly targets: readonly DnsTarget[];
}

export interface DnsTarget {
  /** A DNS name, or an IP literal (which "resolves" to itself). */
  readonly name: string;
  readonly port: number;
  readonly weight: number;
  readonly locality: Locality;
  readonly priority: number;
  /** Endpoint.hostname when written; else the name. */
  readonly hostname: string;
  readonly localityWeight?: number;
}

export interface CircuitBreakers {
  /** Envoy defaults: 1024 each, max_retries 3. */
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** retry_budget: when set it replaces max_retries. */
  readonly retryBudget: RetryBudget | null;
}

export interface RetryBudget {
  /** budget_percent of active + pending requests; default 20. */
  readonly budgetPercent: number;
  /** min_retry_concurrency; default 3. */
  readonly minRetryConcurrency: number;
}

/** cluster.v3.OutlierDetection (consecutive 5xx / gateway failure, success rate), Envoy's defaults filled in. */
export interface OutlierDetection {
  readonly consecutive5xx: number; // 5
  readonly consecutiveGatewayFailure: number; // 5
  readonly intervalMs: number; // 10000
  readonly baseEjectionTimeMs: number; // 30000
  readonly maxEjectionTimeMs: number; // 300000
  readonly maxEjectionPercent: number; // 10
  readonly enforcingConsecutive5xx: number; // percent, 100
  readonly enforcingConsecutiveGatewayFailure: number; // percent, 0
  readonly enforcingSuccessRate: number; // percent, 100
  readonly successRateMinimumHosts: number; // 5
  readonly successRateRequestVolume: number; // 100
  readonly successRateStdevFactor: number; // 1900 (= 1.9)
}

/** core.v3.HealthCheck with http_health_check. */
export interface HealthCheck {
  readonly timeoutMs: number;
  readonly intervalMs: number;
  /** interval_jitter, ms; default 0. */
  readonly intervalJitterMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  /** no_traffic_interval etc. are not modelled: every endpoint is checked at `interval`. */
  readonly http: {
    readonly path: string;
    /** host header; null = the cluster name (Envoy's default). */
    readonly host: string | null;
    /** expected_statuses as [start, end) ranges; default [[200, 201)]. */
    readonly expectedStatuses: readonly (readonly [number, number])[];
  };
}

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  /** load_balancing_weight; default 1. */
  readonly weight: number;
  /** The LocalityLbEndpoints' locality ("" fields when not given). */
  readonly locality: Locality;
  /** The LocalityLbEndpoints' priority; 0 is the highest, default 0. */
  readonly priority: number;
  /** Endpoint.hostname, or the DNS name this address was resolved from (absent when neither). */
  readonly hostname?: string;
  /** The LocalityLbEndpoints' load_balancing_weight (locality-weighted balancing); absent when not given. */
  readonly localityWeight?: number;
  /** Set by the agent (never by a config file): this endpoint's record in the proxy's shared state. */
  readonly stateSlot?: number;
}
