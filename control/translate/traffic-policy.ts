// DestinationRule traffic policy as Envoy cluster fields: load balancer
// (ring hash for consistentHash), connect timeout, circuit breakers from the
// connection pool, the pool's idle timeout and requests per connection as
// HttpProtocolOptions, outlier detection; and the route hash policy that goes
// with a ring-hash cluster; TLS origination as the cluster's transport socket.
// A subset's policy overrides the rule's field by field, a port's overrides both.
import type { DestinationRule, TrafficPolicy } from '../config/istio-types.js';
import { duration, wrapped } from './envoy-values.js';
import { HTTP_PROTOCOL_OPTIONS_NAME, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../src/config/http2-options.js';
import { upstreamTlsSocket } from './tls-transport-socket.js';
import { protocolOptionsOneof, type UpstreamHttpProtocol } from './upstream-protocol.js';

/** Istio's circuit-breaker default: effectively unlimited (Envoy's own defaults are 1024). */
const UNLIMITED = 4294967295;
/** Istio's default ring size for consistent hashing. */
const MINIMUM_RING_SIZE = 1024;

/**
 * The policy for one subset ("" = the whole host) and, when given, one port: the subset's fields over the rule's,
 * then the portLevelSettings entry for the port (its loadBalancer, connectionPool, outlierDetection and tls, each
 * when set, over those), as Istio's MergeTrafficPolicy does.
 */
export function effectivePolicy(rule: DestinationRule | undefined, subset: string, port?: number): TrafficPolicy {
  const base = rule?.spec.trafficPolicy ?? {};
  const override = rule === undefined || subset === '' ? undefined : rule.spec.subsets.find((s) => s.name === subset)?.trafficPolicy;
  const merged = override === undefined ? base : { ...base, ...override };
  if (port === undefined || merged.portLevelSettings === undefined) return merged;
  const forPort = merged.portLevelSettings.find((p) => p.port === port);
  if (forPort === undefined) return merged;
  const { port: _port, ...fields } = forPort;
  return { ...merged, ...fields };
}

/**
 * Cluster fields (lb_policy, ring_hash_lb_config, connect_timeout, circuit_breakers, typed_extension_protocol_options,
 * transport_socket, outlier_detection) for a policy. `upstream`: the HTTP protocol chosen for the port
 * (upstream-protocol.ts); by default only the policy's own h2UpgradePolicy UPGRADE says HTTP/2.
 */
export function clusterPolicyFields(
  policy: TrafficPolicy, defaultConnectTimeoutMs: number, host?: string,
  upstream: UpstreamHttpProtocol | undefined = policy.connectionPool?.http?.h2UpgradePolicy === 'UPGRADE' ? 'HTTP2' : undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const lb = policy.loadBalancer;
  if (lb?.type === 'consistentHash') {
    out.lb_policy = 'RING_HASH';
    out.ring_hash_lb_config = { minimum_ring_size: wrapped(lb.consistentHash.minimumRingSize ?? MINIMUM_RING_SIZE) };
  } else {
    // Istio's default since 1.14 is LEAST_REQUEST, not Envoy's ROUND_ROBIN.
    out.lb_policy = lb?.simple ?? 'LEAST_REQUEST';
  }
  const pool = policy.connectionPool;
  out.connect_timeout = duration(pool?.tcp?.connectTimeoutMs ?? defaultConnectTimeoutMs);
  // Only when the pool sets a limit: unlimited thresholds change nothing, and the data plane v1 (which has no
  // circuit breakers) NACKs the field, so every cluster would be refused for a no-op.
  const limits = [pool?.tcp?.maxConnections, pool?.http?.http1MaxPendingRequests, pool?.http?.http2MaxRequests, pool?.http?.maxRetries];
  if (limits.some((limit) => limit !== undefined)) {
    out.circuit_breakers = {
      thresholds: [{
        max_connections: wrapped(limits[0] ?? UNLIMITED),
        max_pending_requests: wrapped(limits[1] ?? UNLIMITED),
        max_requests: wrapped(limits[2] ?? UNLIMITED),
        max_retries: wrapped(limits[3] ?? UNLIMITED),
        track_remaining: true,
      }],
    };
  }
  const common = commonHttpProtocolOptions(pool);
  // HTTP/2 or the downstream's protocol (grpc/http2 ports, h2UpgradePolicy UPGRADE, sniffed ports); otherwise HTTP/1.1.
  if (common !== undefined || upstream === 'HTTP2' || upstream === 'DOWNSTREAM') {
    // As Istio: HttpProtocolOptions needs its protocol oneof.
    out.typed_extension_protocol_options = {
      [HTTP_PROTOCOL_OPTIONS_NAME]: {
        '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL,
        ...(common !== undefined ? { common_http_protocol_options: common } : {}),
        ...protocolOptionsOneof(upstream),
      },
    };
  }
  // TLS origination (DestinationRule tls SIMPLE/MUTUAL); DISABLE and, until mesh identities exist, ISTIO_MUTUAL stay plaintext.
  const tls = upstreamTlsSocket(policy.tls, host);
  if (tls !== undefined) out.transport_socket = tls;
  const od = policy.outlierDetection;
  if (od !== undefined) {
    const detection: Record<string, unknown> = {};
    if (od.consecutive5xxErrors !== undefined) {
      detection.consecutive_5xx = wrapped(od.consecutive5xxErrors);
      detection.enforcing_consecutive_5xx = wrapped(100);
    } else if (od.consecutiveGatewayErrors !== undefined) {
      // Only gateway errors were asked for: Envoy's 5xx detection (on by default) is switched off, as Istio does.
      detection.enforcing_consecutive_5xx = wrapped(0);
    }
    if (od.consecutiveGatewayErrors !== undefined) {
      detection.consecutive_gateway_failure = wrapped(od.consecutiveGatewayErrors);
      detection.enforcing_consecutive_gateway_failure = wrapped(100);
    }
    if (od.intervalMs !== undefined) detection.interval = duration(od.intervalMs);
    if (od.baseEjectionTimeMs !== undefined) detection.base_ejection_time = duration(od.baseEjectionTimeMs);
    if (od.maxEjectionPercent !== undefined) detection.max_ejection_percent = wrapped(od.maxEjectionPercent);
    out.outlier_detection = detection;
  }
  return out;
}

/**
 * connectionPool.http idleTimeout and maxRequestsPerConnection as Envoy's common_http_protocol_options, as Istio's
 * applyConnectionPool writes them (maxRequestsPerConnection 0, Istio's "unlimited", writes nothing); undefined when
 * neither is set.
 */
function commonHttpProtocolOptions(pool: TrafficPolicy['connectionPool']): Record<string, unknown> | undefined {
  const maxRequests = pool?.http?.maxRequestsPerConnection ?? 0;
  const idleTimeoutMs = pool?.http?.idleTimeoutMs;
  if (maxRequests === 0 && idleTimeoutMs === undefined) return undefined;
  return {
    ...(idleTimeoutMs !== undefined ? { idle_timeout: duration(idleTimeoutMs) } : {}),
    ...(maxRequests > 0 ? { max_requests_per_connection: wrapped(maxRequests) } : {}),
  };
}

/** The route's hash_policy for a ring-hash destination, or undefined. */
export function routeHashPolicy(policy: TrafficPolicy): object[] | undefined {
  const lb = policy.loadBalancer;
  if (lb?.type !== 'consistentHash') return undefined;
  const hash = lb.consistentHash;
  switch (hash.by) {
    case 'httpHeaderName':
      return [{ header: { header_name: hash.httpHeaderName } }];
    case 'httpCookie':
      return [{ cookie: { name: hash.name, ttl: duration(hash.ttlMs) } }];
    case 'useSourceIp':
      return [{ connection_properties: { source_ip: true } }];
  }
}
