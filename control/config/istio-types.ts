// The validated form of the Istio networking resources the control plane
// reads (networking.istio.io v1alpha3/v1beta1/v1; a documented subset of each
// kind's fields). Produced once by parseResources (the edge) and deep-frozen;
// plain data only (no RegExp, no Map) so it can be stored in LMDB and cloned.
// Field names follow Istio's; durations become milliseconds (`...Ms`), Percent
// messages become plain numbers, and host names keep what was written beside
// the fully qualified name Istio resolves it to.
import type { Locality } from '../../src/config/bootstrap-types.js';
import type { PolicyHandlerSpec, PolicyInstanceSpec, PolicyRuleSpec } from './mixer-types.js';

export const ISTIO_API_VERSIONS = [
  'networking.istio.io/v1alpha3',
  'networking.istio.io/v1beta1',
  'networking.istio.io/v1',
  // PeerAuthentication's group (the other kinds are refused under it: see parse-resources.ts).
  'security.istio.io/v1beta1',
  'security.istio.io/v1',
  // Mixer's policy kinds (handler, instance, rule): see mixer-types.ts.
  'config.istio.io/v1alpha2',
  // Telemetry (its tracing sampling, mesh-wide): see telemetry.ts.
  'telemetry.istio.io/v1alpha1',
  'telemetry.istio.io/v1',
] as const;
export type IstioApiVersion = (typeof ISTIO_API_VERSIONS)[number];

export const ISTIO_KINDS = ['ServiceEntry', 'WorkloadEntry', 'VirtualService', 'DestinationRule', 'Sidecar', 'Gateway', 'PeerAuthentication', 'AuthorizationPolicy', 'Telemetry', 'handler', 'instance', 'rule'] as const;
export type IstioKind = (typeof ISTIO_KINDS)[number];

/** Label or annotation map (key order as written). */
export type StringMap = Readonly<Record<string, string>>;

/** A host as written and as Istio resolves it: a short name `reviews` in namespace `default` is `reviews.default.svc.cluster.local`. */
export interface HostName {
  readonly written: string;
  /** Names with a dot, IP addresses and `*` are kept as written (lowercased). */
  readonly fqdn: string;
}

/** Where a resource came from, for messages about it after parsing (analyze, store status). */
export interface SourceRef {
  readonly file: string;
  /** Line of the document's first key. */
  readonly line: number;
  /** Lines of the fields other checks point at (names, hosts, destinations), by field path. */
  readonly fieldLines: Readonly<Record<string, number>>;
  /**
   * Set by the control plane's store: when it began serving this key (ISO time), so the oldest of two
   * VirtualServices for one host keeps it, as in Istio. Absent for files read by `isthmus analyze`.
   */
  readonly servedSince?: string;
}

export interface ResourceMetadata {
  readonly name: string;
  /** "default" when not written. */
  readonly namespace: string;
  readonly labels: StringMap;
  readonly annotations: StringMap;
}

interface ResourceOf<K extends IstioKind, S> {
  readonly apiVersion: IstioApiVersion;
  readonly kind: K;
  readonly metadata: ResourceMetadata;
  readonly spec: S;
  readonly source: SourceRef;
}

export type ServiceEntry = ResourceOf<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntry = ResourceOf<'WorkloadEntry', WorkloadEntrySpec>;
export type VirtualService = ResourceOf<'VirtualService', VirtualServiceSpec>;
export type DestinationRule = ResourceOf<'DestinationRule', DestinationRuleSpec>;
export type Sidecar = ResourceOf<'Sidecar', SidecarSpec>;
export type Gateway = ResourceOf<'Gateway', GatewaySpec>;
export type PeerAuthentication = ResourceOf<'PeerAuthentication', PeerAuthenticationSpec>;
export type PolicyHandler = ResourceOf<'handler', PolicyHandlerSpec>;
export type PolicyInstance = ResourceOf<'instance', PolicyInstanceSpec>;
export type PolicyRule = ResourceOf<'rule', PolicyRuleSpec>;
export type AuthorizationPolicy = ResourceOf<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type Telemetry = ResourceOf<'Telemetry', TelemetrySpec>;
export type IstioResource = ServiceEntry | WorkloadEntry | VirtualService | DestinationRule | Sidecar | Gateway | PeerAuthentication
  | AuthorizationPolicy | Telemetry | PolicyHandler | PolicyInstance | PolicyRule;

// ---- ServiceEntry / WorkloadEntry ----

/** Istio's port protocols; UNKNOWN: none declared or implied by the name (the sidecar sniffs). */
export type PortProtocol = 'HTTP' | 'HTTP2' | 'HTTPS' | 'GRPC' | 'GRPC-WEB' | 'TCP' | 'TLS' | 'MONGO' | 'MYSQL' | 'REDIS' | 'UNKNOWN';

export interface ServicePort {
  readonly number: number;
  /** Unique within the ServiceEntry; endpoints name their port by it. */
  readonly name: string;
  readonly protocol: PortProtocol;
}

export interface WorkloadSelector {
  readonly labels: StringMap;
}

export interface ServiceEntrySpec {
  readonly hosts: readonly HostName[];
  /** IP addresses or CIDR blocks (virtual IPs of the service). */
  readonly addresses: readonly string[];
  readonly ports: readonly ServicePort[];
  /** Istio's default is MESH_EXTERNAL. */
  readonly location: 'MESH_EXTERNAL' | 'MESH_INTERNAL';
  /** Istio's default is NONE. STATIC endpoints are IP addresses; DNS / DNS_ROUND_ROBIN endpoints may be DNS names. */
  readonly resolution: 'STATIC' | 'NONE' | 'DNS' | 'DNS_ROUND_ROBIN';
  readonly endpoints: readonly WorkloadEntrySpec[];
  /** Selects WorkloadEntries (and auto-registered proxies) instead of listing endpoints. */
  readonly workloadSelector?: WorkloadSelector;
}

/** Also the shape of one ServiceEntry endpoint. */
export interface WorkloadEntrySpec {
  readonly address: string;
  /** Service port name -> the port this workload listens on (when it differs from the service port). */
  readonly ports: Readonly<Record<string, number>>;
  readonly labels: StringMap;
  /** "" when not written. */
  readonly serviceAccount: string;
  /** Load-balancing weight; 1 when not written. */
  readonly weight: number;
  /** `region/zone/subzone` (any suffix may be left out). */
  readonly locality?: Locality;
}

export type { Locality };

// ---- VirtualService ----

/** Istio's StringMatch (exact, prefix, or an RE2 regex matching the whole value). */
export interface IstioStringMatch {
  readonly kind: 'exact' | 'prefix' | 'regex';
  readonly value: string;
}

export interface NamedStringMatch {
  /** Header names lowercased; query parameter names as written. */
  readonly name: string;
  readonly match: IstioStringMatch;
}

/** The name a VirtualService binds to for sidecars. */
export const MESH_GATEWAY = 'mesh';

export interface VirtualServiceSpec {
  /** May hold "*" when the VirtualService is bound to gateways only. */
  readonly hosts: readonly HostName[];
  /**
   * "mesh" (sidecars) and gateways as `namespace/name` (a bare name resolved in the VirtualService's namespace).
   * Not written: ["mesh"], as in Istio.
   */
  readonly gateways: readonly string[];
  /** Empty when the VirtualService has only tls or tcp rules. */
  readonly http: readonly HttpRoute[];
  /** TCP rules: the hosts' TCP ports on sidecars (tcp-listeners.ts), TCP servers on gateways. */
  readonly tcp: readonly TcpRoute[];
  /** TLS rules by SNI: the hosts' TLS ports on sidecars, PASSTHROUGH servers on gateways. */
  readonly tls: readonly TlsRoute[];
}

/** A weighted destination of a `tcp` or `tls` rule. */
export interface L4RouteDestination {
  readonly destination: Destination;
  /** Percent; 100 when the rule has one destination and no weight is written. */
  readonly weight: number;
}

/** VirtualService TCPRoute: the ports it takes ([] = every port) and where they go. */
export interface TcpRoute {
  readonly ports: readonly number[];
  readonly route: readonly L4RouteDestination[];
}

/** One TLSMatchAttributes: SNI names (`*` only off the mesh), the port (null = any), the gateways (`ns/name`; [] = the VirtualService's). */
export interface TlsMatch {
  readonly sniHosts: readonly HostName[];
  readonly port: number | null;
  readonly gateways: readonly string[];
}

/** VirtualService TLSRoute: which SNI names (on which port) it takes and where they go. */
export interface TlsRoute {
  readonly matches: readonly TlsMatch[];
  readonly route: readonly L4RouteDestination[];
}

export interface HttpMatchRequest {
  /** "" when not written. */
  readonly name: string;
  readonly uri?: IstioStringMatch;
  readonly method?: IstioStringMatch;
  readonly authority?: IstioStringMatch;
  readonly headers: readonly NamedStringMatch[];
  readonly queryParams: readonly NamedStringMatch[];
  /** The calling workload's labels must include these. */
  readonly sourceLabels: StringMap;
  /** Only requests to this service (or gateway server) port. */
  readonly port?: number;
}

export interface Destination {
  readonly host: HostName;
  readonly subset?: string;
  /** Needed only when the host has more than one port. */
  readonly port?: number;
}

export interface HeaderOperations {
  readonly set: readonly HeaderValue[];
  readonly add: readonly HeaderValue[];
  /** Lowercased names. */
  readonly remove: readonly string[];
}

export interface HeaderValue {
  /** Lowercased. */
  readonly name: string;
  readonly value: string;
}

export interface Headers {
  readonly request: HeaderOperations;
  readonly response: HeaderOperations;
}

export interface HttpRouteDestination {
  readonly destination: Destination;
  /** Percent of the route's traffic; 100 when the route has one destination and no weight is written. */
  readonly weight: number;
  readonly headers: Headers;
}

export interface HttpRewrite {
  /** Replaces the matched uri prefix (or the whole path for an exact match). */
  readonly uri?: string;
  readonly authority?: string;
}

export interface HttpRedirect {
  readonly uri?: string;
  readonly authority?: string;
  /** 301 (default), 302, 303, 307 or 308. */
  readonly redirectCode: number;
}

export interface HttpDirectResponse {
  readonly status: number;
  /** body.string; absent when there is no body. */
  readonly body?: string;
}

export interface HttpRetry {
  /** Retries, not counting the first try; 0 disables retries. */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry-on conditions and gRPC status names, or HTTP status codes as text ("503"). */
  readonly retryOn: readonly string[];
}

export interface HttpFaultInjection {
  readonly delay?: { readonly percentage: number; readonly fixedDelayMs: number };
  readonly abort?: { readonly percentage: number; readonly httpStatus: number };
}

export interface CorsPolicy {
  readonly allowOrigins: readonly IstioStringMatch[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeMs?: number;
  readonly allowCredentials?: boolean;
}

/** One rule: exactly one of route, redirect and directResponse says what happens. */
export interface HttpRoute {
  /** "" when not written. */
  readonly name: string;
  /** Empty: matches every request. */
  readonly match: readonly HttpMatchRequest[];
  readonly route: readonly HttpRouteDestination[];
  readonly redirect?: HttpRedirect;
  readonly directResponse?: HttpDirectResponse;
  readonly rewrite?: HttpRewrite;
  /** Absent: Istio's default (no route timeout). */
  readonly timeoutMs?: number;
  /** Absent: the mesh default retry policy applies. */
  readonly retries?: HttpRetry;
  readonly fault?: HttpFaultInjection;
  readonly mirror?: Destination;
  /** Percent of requests mirrored; 100 when mirror is set and this is not. */
  readonly mirrorPercentage?: number;
  readonly headers: Headers;
  readonly corsPolicy?: CorsPolicy;
}

// ---- DestinationRule ----

export type SimpleLoadBalancer = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM';

export type ConsistentHash = (
  | { readonly by: 'httpHeaderName'; readonly httpHeaderName: string }
  | { readonly by: 'httpCookie'; readonly name: string; readonly ttlMs: number }
  | { readonly by: 'useSourceIp' }
) & {
  /** The deprecated `minimumRingSize` Istio still honours (ring_hash_lb_config.minimum_ring_size); absent: 1024. */
  readonly minimumRingSize?: number;
};

export type LoadBalancerSettings =
  | { readonly type: 'simple'; readonly simple: SimpleLoadBalancer }
  | { readonly type: 'consistentHash'; readonly consistentHash: ConsistentHash };

/** Fields not written are absent: the translation applies Envoy's defaults. */
export interface ConnectionPoolSettings {
  readonly tcp?: { readonly maxConnections?: number; readonly connectTimeoutMs?: number };
  readonly http?: {
    readonly http1MaxPendingRequests?: number;
    readonly http2MaxRequests?: number;
    readonly maxRetries?: number;
    /** 0 or absent: unlimited. */
    readonly maxRequestsPerConnection?: number;
    readonly idleTimeoutMs?: number;
    /** Outbound: UPGRADE makes an `http` (or undeclared) port's cluster speak HTTP/2; DO_NOT_UPGRADE keeps HTTP/1.1. */
    readonly h2UpgradePolicy?: 'DEFAULT' | 'DO_NOT_UPGRADE' | 'UPGRADE';
    /** The cluster speaks the client's protocol (HTTP/1.1 or HTTP/2), on any port but grpc/http2 ones, on gateways too. */
    readonly useClientProtocol?: boolean;
  };
}

/** Fields not written are absent (Istio's defaults: 5 errors, 10s interval, 30s ejection, 10%). */
export interface OutlierDetection {
  readonly consecutive5xxErrors?: number;
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
}

/** loadBalancer.localityLbSetting: Istio's locality failover (only with outlierDetection, as in Istio). */
export interface LocalityLbSetting {
  /** false switches locality-aware priorities off for this host. */
  readonly enabled: boolean;
  /** Region-to-region failover: when `from` (the proxy's region) has no healthy endpoints, `to` comes next. */
  readonly failover: readonly { readonly from: string; readonly to: string }[];
}

export interface TrafficPolicy {
  readonly loadBalancer?: LoadBalancerSettings;
  /** Written inside loadBalancer in the YAML; kept apart so a policy may set it without simple/consistentHash. */
  readonly localityLbSetting?: LocalityLbSetting;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTlsSettings;
  /** Per-port overrides (Istio: a port's settings replace the policy's loadBalancer, connectionPool, outlierDetection, tls). */
  readonly portLevelSettings?: readonly PortTrafficPolicy[];
}

export interface PortTrafficPolicy {
  readonly port: number;
  readonly loadBalancer?: LoadBalancerSettings;
  readonly localityLbSetting?: LocalityLbSetting;
  readonly connectionPool?: ConnectionPoolSettings;
  readonly outlierDetection?: OutlierDetection;
  readonly tls?: ClientTlsSettings;
}

/** DestinationRule trafficPolicy.tls: how the proxy originates TLS to the destination (file paths as written). */
export interface ClientTlsSettings {
  readonly mode: 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';
  readonly clientCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly subjectAltNames: readonly string[];
  /** SNI sent in the ClientHello. */
  readonly sni?: string;
  /** Istio's insecureSkipVerify: no CA check even when caCertificates is set. */
  readonly insecureSkipVerify?: boolean;
}

export interface Subset {
  readonly name: string;
  readonly labels: StringMap;
  /** Overrides the rule's policy field by field (Istio's merge). */
  readonly trafficPolicy?: TrafficPolicy;
}

export interface DestinationRuleSpec {
  readonly host: HostName;
  readonly trafficPolicy?: TrafficPolicy;
  readonly subsets: readonly Subset[];
}

// ---- Sidecar ----

/** One `namespace/dnsName` egress host. */
export interface SidecarEgressHost {
  readonly written: string;
  /** A namespace name ("." already replaced by the Sidecar's own), "*" for any, "~" for none. */
  readonly namespace: string;
  /** An FQDN, a wildcard suffix like "*.example.com", or "*". */
  readonly dnsName: string;
}

export interface SidecarSpec {
  /** Absent: applies to every workload in the namespace. */
  readonly workloadSelector?: WorkloadSelector;
  /** One catch-all egress listener (port-specific listeners are not in the subset). */
  readonly egress: readonly { readonly hosts: readonly SidecarEgressHost[] }[];
}

// ---- Gateway ----

export type GatewayProtocol = 'HTTP' | 'HTTPS' | 'HTTP2' | 'GRPC' | 'TLS' | 'TCP';

/** One `namespace/dnsName` Gateway host ("*" alone is "*\/*"). */
export interface GatewayHost {
  readonly written: string;
  /** A namespace name ("." already replaced by the Gateway's own) or "*" for any. */
  readonly namespace: string;
  /** An FQDN, a wildcard suffix like "*.example.com", or "*". */
  readonly dnsName: string;
}

/** Server TLS: file paths as written. */
export interface ServerTlsSettings {
  /** Answer plain-HTTP requests on this server with a redirect to https. */
  readonly httpsRedirect: boolean;
  /** Absent on a plain server that only sets httpsRedirect. */
  readonly mode?: 'SIMPLE' | 'MUTUAL' | 'PASSTHROUGH';
  readonly serverCertificate?: string;
  readonly privateKey?: string;
  readonly caCertificates?: string;
  readonly subjectAltNames: readonly string[];
  readonly minProtocolVersion?: 'TLSV1_2' | 'TLSV1_3';
  readonly maxProtocolVersion?: 'TLSV1_2' | 'TLSV1_3';
}

export interface GatewayServer {
  readonly port: { readonly number: number; readonly name: string; readonly protocol: GatewayProtocol };
  readonly hosts: readonly GatewayHost[];
  readonly tls?: ServerTlsSettings;
  /** "" when not written. */
  readonly name: string;
}

export interface GatewaySpec {
  /** Labels of the gateway proxies (`--router --label k=v`) this Gateway configures; empty selects every gateway proxy. */
  readonly selector: StringMap;
  readonly servers: readonly GatewayServer[];
}

// ---- Telemetry (telemetry.istio.io) ----

/** The tracing part: one entry; randomSamplingPercentage absent = Istio's default for the mesh (the flag's, else 1%). */
export interface TelemetrySpec {
  readonly tracing: readonly { readonly randomSamplingPercentage?: number }[];
}

// ---- PeerAuthentication (security.istio.io) ----

/** Istio's PeerAuthentication.MutualTLS.Mode; UNSET inherits from the level above (workload < namespace < mesh). */
export type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

export interface PeerAuthenticationSpec {
  /** matchLabels; absent: the whole namespace (or the mesh, in the root namespace). */
  readonly selector?: StringMap;
  readonly mtls?: MtlsMode;
  /** Workload port number (as text) -> mode; only with a selector, as Istio requires. */
  readonly portLevelMtls?: Readonly<Record<string, MtlsMode>>;
}

// ---- AuthorizationPolicy (security.istio.io) ----

/** Each field: any of its values (the not* ones: none of them); the fields of one source all hold. Unset fields are absent. */
export interface AuthzSource {
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

export interface AuthzOperation {
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  /** Port numbers as text (Istio's strings). */
  readonly ports?: readonly string[];
  readonly notPorts?: readonly string[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

export interface AuthzCondition {
  /** request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, destination.ip, destination.port, connection.sni */
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

/** A rule matches when any `from` (none: any source), any `to` (none: any operation) and every `when` hold. */
export interface AuthzRule {
  readonly from: readonly AuthzSource[];
  readonly to: readonly AuthzOperation[];
  readonly when: readonly AuthzCondition[];
}

export interface AuthorizationPolicySpec {
  /** matchLabels; absent: every workload of the namespace (of the mesh, in the root namespace). */
  readonly selector?: StringMap;
  readonly action: 'ALLOW' | 'DENY' | 'CUSTOM';
  /** CUSTOM only: the ext_authz provider (ISTHMUS_AUTHZ_PROVIDER: the control plane's own Authorization service). */
  readonly provider?: { readonly name: string };
  /** Empty: an ALLOW policy matches nothing (deny all), a DENY policy matches nothing (no effect). */
  readonly rules: readonly AuthzRule[];
}
