// The routing config (VirtualServices, DestinationRules, Sidecars) indexed
// once per config version, so translating for each of many proxies is a
// series of map lookups. Also the proxy's identity, as the translation sees it.
import type { MeshH2UpgradePolicy } from './upstream-protocol.js';
import type { PolicySummary } from './mixer-filter.js';
import { DEFAULT_PATH_NORMALIZATION, type PathNormalizationType } from './hcm-path-normalization.js';
import { DEFAULT_MESH_ACCESS_LOG, type MeshAccessLog } from './access-log-mesh.js';
import { effectiveTracing, type MeshTracing } from './tracing-mesh.js';
import { DEFAULT_MESH_POLICY_CHECK, type MeshPolicyCheck } from './policy-check-mesh.js';
import {
  MESH_GATEWAY, type DestinationRule, type Gateway, type AuthorizationPolicy, type IstioResource, type MtlsMode, type PeerAuthentication, type Sidecar, type StringMap, type VirtualService,
} from '../config/istio-types.js';
import { effectiveMtlsMode } from './peer-authentication-policy.js';
import { authorizationPoliciesFor } from './authz-rbac.js';
import { buildPolicyConfig } from '../mixer/policy-config.js';
import { summarizePolicy } from '../mixer/policy-summary.js';
import { byPrecedence } from '../config/virtual-service-precedence.js';
import { labelsMatch, type Locality } from '../registry/registry-types.js';

/** Who a proxy is, from its xDS node: what decides which config it gets. */
export interface ProxyIdentity {
  /** xDS node id. */
  readonly id: string;
  readonly namespace: string;
  /** The service this proxy fronts (name or host); absent: outbound only (no inbound listener). */
  readonly service?: string;
  /** The workload's labels (`app`, `version`, ...): Sidecar selection and VirtualService sourceLabels match them. */
  readonly labels: StringMap;
  /** Address the inbound listener binds (default 127.0.0.1). */
  readonly address?: string;
  /** Port of the application behind the proxy; absent: no inbound listener. */
  readonly appPort?: number;
  /**
   * A proxyless gRPC client (@grpc/grpc-js-xds, grpc-go, grpc-java) rather than a sidecar: it gets one api_listener
   * per `xds:///` target name instead of the sidecar's inbound and outbound listeners (see translate-proxyless.ts).
   */
  readonly proxyless?: boolean;
  /**
   * A gateway proxy (`isthmus proxy --router`, Istio's `router` node type): it gets listeners per port of the
   * Gateways whose selector matches its labels, routed by the VirtualServices bound to them (translate-gateway.ts).
   */
  readonly router?: boolean;
  /** node.locality: with a DestinationRule's outlierDetection, endpoints get priorities by locality (Istio's failover). */
  readonly locality?: Locality;
  /** Listener ports, when this proxy does not use the mesh's (several proxies on one host). */
  readonly outboundPort?: number;
  readonly inboundPort?: number;
}

export interface MeshOptions {
  /** Outbound listener address and port (Istio: 15001). */
  readonly outboundAddress: string;
  readonly outboundPort: number;
  /** Inbound listener port (Istio: 15006). */
  readonly inboundPort: number;
  /** Where mesh-wide Sidecars and DestinationRules live (Istio: istio-system). */
  readonly rootNamespace: string;
  /** Cluster connect timeout when no DestinationRule sets one (Istio's meshConfig.connectTimeout: 10s). */
  readonly connectTimeoutMs: number;
  /** Istio's meshConfig.pathNormalization.normalization (default DEFAULT: RFC 3986 normalization). */
  readonly pathNormalization: PathNormalizationType;
  /** Istio's meshConfig.accessLogFile, accessLogEncoding and accessLogFormat (default: no access log). */
  readonly accessLog: MeshAccessLog;
  /** SPIFFE trust domain of workload identities (the CA's): the peer SANs outbound mTLS checks. */
  readonly trustDomain: string;
  /** --tracing-sampling / --tracing-zipkin: tracing on every sidecar HTTP listener (tracing-mesh.ts); null: off. */
  readonly tracing: MeshTracing | null;
  /** Istio's meshConfig.h2UpgradePolicy: UPGRADE makes every outbound cluster of an `http` port speak HTTP/2 (a DestinationRule's overrides it). */
  readonly h2UpgradePolicy: MeshH2UpgradePolicy;
  /** Where spans go when a Telemetry turns tracing on without --tracing-sampling (--tracing-zipkin, else the admin port). */
  readonly tracingCollector?: { host: string; port: number };
  /** Istio's meshConfig.policyCheckFailOpen, with the Check timeout and retries: every policy filter's transport. */
  readonly policyCheck: MeshPolicyCheck;
}

export const DEFAULT_MESH_OPTIONS: MeshOptions = Object.freeze({
  outboundAddress: '127.0.0.1',
  outboundPort: 15001,
  inboundPort: 15006,
  rootNamespace: 'istio-system',
  connectTimeoutMs: 10_000,
  pathNormalization: DEFAULT_PATH_NORMALIZATION,
  accessLog: DEFAULT_MESH_ACCESS_LOG,
  trustDomain: 'cluster.local',
  tracing: null,
  h2UpgradePolicy: 'DO_NOT_UPGRADE',
  policyCheck: DEFAULT_MESH_POLICY_CHECK,
});

export interface MeshConfig {
  readonly options: MeshOptions;
  /** The tracing every sidecar gets: the flags', overridden by a Telemetry in the root namespace; null: off. */
  readonly tracing: MeshTracing | null;
  /** Sorted by namespace/name. */
  readonly virtualServices: readonly VirtualService[];
  readonly destinationRules: readonly DestinationRule[];
  readonly sidecars: readonly Sidecar[];
  /** Sorted by namespace/name. */
  readonly gateways: readonly Gateway[];
  /** Gateways whose selector matches a gateway proxy's labels (an empty selector matches every gateway proxy). */
  gatewaysFor(proxy: ProxyIdentity): Gateway[];
  /** VirtualServices bound to a gateway (`namespace/name`), in precedence order. */
  virtualServicesForGateway(gateway: string): readonly VirtualService[];
  readonly peerAuthentications: readonly PeerAuthentication[];
  /** Sorted by namespace/name. */
  readonly authorizationPolicies: readonly AuthorizationPolicy[];
  /** The AuthorizationPolicies that apply to a workload (its namespace's and the root namespace's, by selector). */
  authorizationPoliciesFor(proxy: ProxyIdentity): AuthorizationPolicy[];
  /** The PeerAuthentication mode for a workload's port (STRICT, PERMISSIVE or DISABLE; PERMISSIVE when nothing says). */
  mtlsModeFor(proxy: ProxyIdentity, port: number): Exclude<MtlsMode, 'UNSET'>;
  /** VirtualService bound to the mesh for a host (exact host first, then the longest matching wildcard). */
  virtualServiceFor(host: string): VirtualService | undefined;
  /** DestinationRule for a host as seen from a proxy's namespace (Istio's order: proxy's namespace, host's, root). */
  destinationRuleFor(host: string, proxyNamespace: string, hostNamespace: string): DestinationRule | undefined;
  /** The Sidecar that scopes a proxy: one selecting its labels, else its namespace's default, else the root namespace's. */
  sidecarFor(proxy: ProxyIdentity): Sidecar | undefined;
  /** Hosts whose VirtualService lookup is memoized now (at most MAX_MEMOIZED_HOSTS). */
  memoizedHosts(): number;
  /** What the Mixer policy rules read (summarizePolicy); absent or null: no policy, no policy filter. */
  readonly policySummary?: PolicySummary | null;
}

/**
 * Bound on the VirtualService-by-host memo. Hosts include those that registering proxies name, which come and go
 * while one config stays; past the bound the memo starts over (a lookup is a scan of the VirtualServices).
 */
export const MAX_MEMOIZED_HOSTS = 10_000;

function keyOf(r: IstioResource): string {
  return `${r.metadata.namespace}/${r.metadata.name}`;
}

function byKey<T extends IstioResource>(list: T[]): T[] {
  return list.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
}

/** True when pattern (a host, `*.suffix` or `*`) matches host. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** The first item whose pattern equals host, else the one with the longest matching wildcard; items in priority order. */
function bestByHost<T>(items: readonly T[], patternsOf: (item: T) => readonly string[], host: string): T | undefined {
  let best: T | undefined;
  let bestLength = -1;
  for (const item of items) {
    for (const pattern of patternsOf(item)) {
      if (pattern === host) return item;
      if (pattern.includes('*') && hostMatches(pattern, host) && pattern.length > bestLength) {
        best = item;
        bestLength = pattern.length;
      }
    }
  }
  return best;
}

export function createMeshConfig(resources: readonly IstioResource[], options: Partial<MeshOptions> = {}): MeshConfig {
  const merged: MeshOptions = { ...DEFAULT_MESH_OPTIONS, ...options };
  // The first naming a host routes it; analyze and the store's status report the others (IST0109).
  const virtualServices = byPrecedence(resources.filter((r): r is VirtualService => r.kind === 'VirtualService'));
  const meshServices = virtualServices.filter((vs) => vs.spec.gateways.includes(MESH_GATEWAY));
  const gateways = byKey(resources.filter((r): r is Gateway => r.kind === 'Gateway'));
  const byGateway = new Map<string, VirtualService[]>();
  for (const vs of virtualServices) {
    for (const g of vs.spec.gateways) {
      if (g === MESH_GATEWAY) continue;
      const list = byGateway.get(g) ?? [];
      list.push(vs);
      byGateway.set(g, list);
    }
  }
  const destinationRules = byKey(resources.filter((r): r is DestinationRule => r.kind === 'DestinationRule'));
  const sidecars = byKey(resources.filter((r): r is Sidecar => r.kind === 'Sidecar'));
  const peerAuthentications = byKey(resources.filter((r): r is PeerAuthentication => r.kind === 'PeerAuthentication'));
  const authorizationPolicies = byKey(resources.filter((r): r is AuthorizationPolicy => r.kind === 'AuthorizationPolicy'));
  const vsCache = new Map<string, VirtualService | undefined>();
  const drByNamespace = new Map<string, DestinationRule[]>();
  for (const dr of destinationRules) {
    const list = drByNamespace.get(dr.metadata.namespace) ?? [];
    list.push(dr);
    drByNamespace.set(dr.metadata.namespace, list);
  }
  // What the Mixer rules read decides whether sidecars get the policy filter and which attributes it computes.
  const policySummary = resources.some((r) => r.kind === 'rule') ? summarizePolicy(buildPolicyConfig(resources)) : null;
  return {
    options: merged,
    tracing: effectiveTracing(merged, resources),
    policySummary,
    virtualServices,
    destinationRules,
    sidecars,
    gateways,
    gatewaysFor(proxy) {
      return gateways.filter((g) => labelsMatch(g.spec.selector, proxy.labels));
    },
    virtualServicesForGateway(gateway) {
      return byGateway.get(gateway) ?? [];
    },
    peerAuthentications,
    authorizationPolicies,
    authorizationPoliciesFor(proxy) {
      return authorizationPoliciesFor(authorizationPolicies, merged.rootNamespace, proxy);
    },
    mtlsModeFor(proxy, port) {
      return effectiveMtlsMode(peerAuthentications, merged.rootNamespace, proxy.namespace, proxy.labels, port);
    },
    virtualServiceFor(host) {
      if (vsCache.has(host)) return vsCache.get(host);
      const found = bestByHost(meshServices, (vs) => vs.spec.hosts.map((h) => h.fqdn), host);
      if (vsCache.size >= MAX_MEMOIZED_HOSTS) vsCache.clear();
      vsCache.set(host, found);
      return found;
    },
    memoizedHosts() {
      return vsCache.size;
    },
    destinationRuleFor(host, proxyNamespace, hostNamespace) {
      for (const ns of [proxyNamespace, hostNamespace, merged.rootNamespace]) {
        const found = bestByHost(drByNamespace.get(ns) ?? [], (dr) => [dr.spec.host.fqdn], host);
        if (found !== undefined) return found;
      }
      return undefined;
    },
    sidecarFor(proxy) {
      const inNamespace = sidecars.filter((s) => s.metadata.namespace === proxy.namespace);
      const selecting = inNamespace.find((s) => s.spec.workloadSelector !== undefined && labelsMatch(s.spec.workloadSelector.labels, proxy.labels));
      return selecting
        ?? inNamespace.find((s) => s.spec.workloadSelector === undefined)
        ?? sidecars.find((s) => s.metadata.namespace === merged.rootNamespace && s.spec.workloadSelector === undefined);
    },
  };
}
