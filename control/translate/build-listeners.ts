// The proxy's two listeners. Outbound (`outbound`, 127.0.0.1:15001): the app's
// requests, routed by Host through the `outbound` RouteConfiguration over RDS.
// Inbound (`inbound`, :15006): requests from peer proxies to the local app,
// with an inline route to the STATIC cluster `inbound|<port>||` that points at
// 127.0.0.1:<app port>, as Istio's virtualInbound does.
import { hcmTracing } from './tracing-mesh.js';
import type { RegistryService } from '../registry/registry-types.js';
import { authzHttpFilters } from './authz-rbac.js';
import { inboundClusterName } from './cluster-name.js';
import {
  adsConfigSource, CORS_FILTER, CORS_TYPE, duration, FAULT_FILTER, FAULT_TYPE, HCM_FILTER, HCM_TYPE, ROUTER_FILTER, ROUTER_TYPE,
  socketAddress, TYPE_PREFIX,
} from './envoy-values.js';
import { portHandling } from '../config/port-protocol.js';
import { HTTP_PROTOCOL_OPTIONS_NAME, HTTP_PROTOCOL_OPTIONS_TYPE_URL } from '../../src/config/http2-options.js';
import { protocolOptionsOneof, upstreamHttpProtocol, type UpstreamHttpProtocol } from './upstream-protocol.js';
import type { MeshConfig, ProxyIdentity } from './mesh-config.js';
import { hcmAccessLog } from './access-log-mesh.js';
import { OUTBOUND_ROUTE_NAME } from './build-route-config.js';
import { hcmPathNormalization } from './hcm-path-normalization.js';
import { inboundMtlsSocket, istioSni, tlsInspectorFilter } from './mtls-contexts.js';
import { inboundTcpChains } from './inbound-chains.js';
import { mixerHttpFilter } from './mixer-filter.js';
import { hasMeshIdentity, type EffectiveMtlsMode } from './peer-authentication-policy.js';

export const OUTBOUND_LISTENER_NAME = 'outbound';
export const INBOUND_LISTENER_NAME = 'inbound';

/** How long the inbound listener's http_inspector waits for a first byte before the TCP chain takes the connection (Istio's protocol detection timeout). */
export const PROTOCOL_DETECTION_TIMEOUT_MS = 1_000;
const HTTP_INSPECTOR = 'envoy.filters.listener.http_inspector';
const HTTP_INSPECTOR_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.listener.http_inspector.v3.HttpInspector`;
const TCP_PROXY_FILTER = 'envoy.filters.network.tcp_proxy';
const TCP_PROXY_TYPE = `${TYPE_PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;
/** What the http_inspector reports for HTTP/1.x and h2c: the HTTP chain matches these. */
const SNIFFED_HTTP_PROTOCOLS = ['http/1.0', 'http/1.1', 'h2c'];
/** Istio enables WebSocket upgrades on every HTTP connection manager it generates. */
const UPGRADE_CONFIGS = [{ upgrade_type: 'websocket' }];

/**
 * request_headers_timeout on every listener we generate. Envoy's default is none, which lets a client that sends
 * a head a byte at a time (slowloris) hold a connection until the 5-minute stream idle timeout; 300 such clients
 * held every connection of a proxy. A real client sends its whole head at once, well within 10 s even on a slow
 * link, and the app behind the sidecar is on loopback; a request's body is not covered (only the head).
 */
export const REQUEST_HEADERS_TIMEOUT_MS = 10_000;

/** Filter order as Istio's: cors, fault, then the router (which must be last). */
export function httpFilters(usedFilters: ReadonlySet<string>): object[] {
  const filters: object[] = [];
  if (usedFilters.has(CORS_FILTER)) filters.push({ name: CORS_FILTER, typed_config: { '@type': CORS_TYPE } });
  if (usedFilters.has(FAULT_FILTER)) filters.push({ name: FAULT_FILTER, typed_config: { '@type': FAULT_TYPE } });
  filters.push({ name: ROUTER_FILTER, typed_config: { '@type': ROUTER_TYPE } });
  return filters;
}

function policyFilterOf(filter: object | null): object[] {
  return filter === null ? [] : [filter];
}

function hcmFilter(hcm: Record<string, unknown>): object {
  return {
    name: HCM_FILTER,
    typed_config: { '@type': HCM_TYPE, ...hcm, upgrade_configs: UPGRADE_CONFIGS, request_headers_timeout: duration(REQUEST_HEADERS_TIMEOUT_MS) },
  };
}

function tcpProxyFilter(cluster: string): object {
  return { name: TCP_PROXY_FILTER, typed_config: { '@type': TCP_PROXY_TYPE, stat_prefix: cluster, cluster } };
}

function listener(name: string, address: string, port: number, direction: string, hcm: Record<string, unknown>): object {
  return {
    name,
    address: socketAddress(address, port),
    traffic_direction: direction,
    filter_chains: [{ filters: [hcmFilter(hcm)] }],
  };
}

/**
 * The outbound listener. The HTTP filters present are only those the routes use (fault, cors), so a listener for
 * a mesh without them stays within what the data plane supports today.
 */
export function buildOutboundListener(proxy: ProxyIdentity, config: MeshConfig, usedFilters: ReadonlySet<string>): object {
  const address = config.options.outboundAddress;
  const port = proxy.outboundPort ?? config.options.outboundPort;
  return listener(OUTBOUND_LISTENER_NAME, address, port, 'OUTBOUND', {
    stat_prefix: `outbound_${address}_${port}`,
    rds: { route_config_name: OUTBOUND_ROUTE_NAME, config_source: adsConfigSource() },
    http_filters: httpFilters(usedFilters),
    ...hcmPathNormalization(config.options.pathNormalization),
    ...hcmAccessLog(config.options.accessLog),
    ...hcmTracing(config.tracing),
  });
}

export interface InboundResources {
  readonly listener: object;
  /** STATIC clusters `inbound|<port>||`, one per port of the proxy's service. */
  readonly clusters: object[];
}

/**
 * The inbound listener and clusters for the proxy's own service; undefined without a service, an app port or a
 * port. Protocol selection as Istio's: HTTP ports are served by the HTTP connection manager (one virtual host per
 * port), TCP ones (tcp, tls, mongo, mysql, redis, https) by a tcp_proxy to the app, and ports of no declared
 * protocol by either: the http_inspector sniffs each connection (HTTP/1.x or h2c to the HTTP chain, anything
 * else, or nothing within the detection timeout, to the TCP chain). A sidecar with a mesh identity gets these chains
 * per PeerAuthentication mode (inbound-chains.ts). One inbound port serves the service's
 * ports, so the TCP chain goes to the first TCP (or undeclared) port.
 */
export function buildInbound(proxy: ProxyIdentity, service: RegistryService | undefined, config: MeshConfig): InboundResources | undefined {
  if (service === undefined || proxy.appPort === undefined) return undefined;
  const ports = service.ports;
  if (ports.length === 0) return undefined;
  const httpPorts = ports.filter((p) => portHandling(p.protocol) !== 'tcp');
  const tcpPorts = ports.filter((p) => portHandling(p.protocol) !== 'http');
  const address = proxy.address ?? '127.0.0.1';
  const port = proxy.inboundPort ?? config.options.inboundPort;
  const clusters = ports.map((p) => {
    const name = inboundClusterName(p.number);
    // The app's own protocol: HTTP/2 to a grpc/http2 port (a gRPC server speaks nothing else), the caller's to a sniffed one.
    const upstream = upstreamHttpProtocol({ portProtocol: p.protocol, policy: {}, meshUpgrade: 'DO_NOT_UPGRADE', direction: 'inbound', sidecar: true });
    return {
      name,
      type: 'STATIC',
      connect_timeout: duration(config.options.connectTimeoutMs),
      lb_policy: 'ROUND_ROBIN',
      ...(upstream !== undefined ? inboundProtocolOptions(upstream) : {}),
      load_assignment: {
        cluster_name: name,
        endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress('127.0.0.1', proxy.appPort!) } }] }],
      },
    };
  });
  // One inbound port serves every service port: the first answers any Host, the others a Host naming their port.
  const virtualHosts = httpPorts.map((p, index) => ({
    name: `inbound|http|${p.number}`,
    domains: index === 0 ? ['*'] : [`*:${p.number}`],
    routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: inboundClusterName(p.number), timeout: duration(0) } }],
  }));
  const hcm = {
    stat_prefix: `inbound_${address}_${port}`,
    route_config: { name: 'inbound', virtual_hosts: virtualHosts },
    // AuthorizationPolicy's RBAC filters (CUSTOM, DENY, then ALLOW) first, then the policy (Mixer) filter when rules
    // exist, as Istio ordered its authn/authz and mixer filters; then the router.
    http_filters: [
      ...authzHttpFilters(config.authorizationPoliciesFor(proxy), { namespace: proxy.namespace, labels: proxy.labels, appPort: proxy.appPort }),
      ...policyFilterOf(mixerHttpFilter(config.policySummary, proxy, service, config.options.policyCheck)),
      ...httpFilters(new Set()),
    ],
    ...hcmPathNormalization(config.options.pathNormalization),
    ...hcmAccessLog(config.options.accessLog),
    ...hcmTracing(config.tracing),
  };
  if (tcpPorts.length === 0) {
    const inbound = hasMeshIdentity(proxy.labels)
      ? inboundMtlsListener(address, port, hcm, config.mtlsModeFor(proxy, proxy.appPort))
      : listener(INBOUND_LISTENER_NAME, address, port, 'INBOUND', hcm);
    return { listener: inbound, clusters };
  }
  const tcpChain = { filters: [tcpProxyFilter(inboundClusterName(tcpPorts[0]!.number))] };
  if (hasMeshIdentity(proxy.labels)) return { listener: inboundTcpMtlsListener(address, port, hcm, tcpChain.filters[0]!, proxy, service, config), clusters };
  if (httpPorts.length === 0) {
    return { listener: { name: INBOUND_LISTENER_NAME, address: socketAddress(address, port), traffic_direction: 'INBOUND', filter_chains: [tcpChain] }, clusters };
  }
  const sniffed = {
    name: INBOUND_LISTENER_NAME,
    address: socketAddress(address, port),
    traffic_direction: 'INBOUND',
    listener_filters: [{ name: HTTP_INSPECTOR, typed_config: { '@type': HTTP_INSPECTOR_TYPE } }],
    listener_filters_timeout: duration(PROTOCOL_DETECTION_TIMEOUT_MS),
    // A server-first protocol (MySQL) sends nothing: at the timeout it goes to the TCP chain instead of being closed.
    continue_on_listener_filters_timeout: true,
    filter_chains: [
      { filter_chain_match: { application_protocols: SNIFFED_HTTP_PROTOCOLS }, filters: [hcmFilter(hcm)] },
      tcpChain,
    ],
  };
  return { listener: sniffed, clusters };
}

/** The inbound cluster's typed_extension_protocol_options for an upstream protocol. */
function inboundProtocolOptions(upstream: UpstreamHttpProtocol): object {
  return { typed_extension_protocol_options: { [HTTP_PROTOCOL_OPTIONS_NAME]: { '@type': HTTP_PROTOCOL_OPTIONS_TYPE_URL, ...protocolOptionsOneof(upstream) } } };
}

/** A sidecar with a mesh identity whose service has TCP ports: TCP (and HTTP) chains by PeerAuthentication mode (inbound-chains.ts). */
function inboundTcpMtlsListener(
  address: string, port: number, hcm: Record<string, unknown>, tcpFilter: object, proxy: ProxyIdentity, service: RegistryService, config: MeshConfig,
): object {
  const httpPorts = service.ports.filter((p) => portHandling(p.protocol) !== 'tcp');
  const tcpPorts = service.ports.filter((p) => portHandling(p.protocol) !== 'http');
  const rule = config.destinationRuleFor(service.host, service.namespace, service.namespace);
  const subsets = ['', ...(rule?.spec.subsets.map((s) => s.name) ?? [])];
  const { listenerFilters, filterChains } = inboundTcpChains({
    mode: config.mtlsModeFor(proxy, proxy.appPort!),
    tcpFilter,
    ...(httpPorts.length > 0 ? { http: { plain: hcmFilter(hcm), mtls: hcmFilter({ ...hcm, ...MTLS_XFCC }) } } : {}),
    tcpServerNames: tcpPorts.flatMap((p) => subsets.map((subset) => istioSni(service.host, p.number, subset))),
  });
  return {
    name: INBOUND_LISTENER_NAME,
    address: socketAddress(address, port),
    traffic_direction: 'INBOUND',
    ...(listenerFilters.length > 0 ? {
      listener_filters: listenerFilters,
      // A server-first protocol (MySQL) sends nothing: at the timeout it goes on as plaintext instead of being closed.
      listener_filters_timeout: duration(PROTOCOL_DETECTION_TIMEOUT_MS),
      continue_on_listener_filters_timeout: true,
    } : {}),
    filter_chains: filterChains,
  };
}

/** Istio's inbound mTLS XFCC: the app sees the caller's SPIFFE ID. */
const MTLS_XFCC = {
  forward_client_cert_details: 'APPEND_FORWARD',
  set_current_client_cert_details: { subject: { value: true }, dns: true, uri: true },
} as const;

/**
 * A sidecar with a mesh identity: its inbound port by PeerAuthentication mode. STRICT: one TLS chain that requires
 * a client certificate from the mesh CA (plaintext finds no chain and is closed); DISABLE: plaintext only;
 * PERMISSIVE: the tls_inspector picks the mTLS chain for a ClientHello, the plaintext chain otherwise. The mTLS
 * chain's HCM sets XFCC as Istio's inbound does (APPEND_FORWARD with subject, dns, uri), so the app sees the
 * caller's SPIFFE ID; the plaintext chain keeps Envoy's SANITIZE, so a forged XFCC never reaches it.
 */
function inboundMtlsListener(address: string, port: number, hcm: Record<string, unknown>, mode: EffectiveMtlsMode): object {
  const mtlsChain = {
    name: 'inbound-mtls',
    filter_chain_match: { transport_protocol: 'tls' },
    transport_socket: inboundMtlsSocket(),
    filters: [hcmFilter({ ...hcm, ...MTLS_XFCC })],
  };
  const plainChain = { name: 'inbound-plaintext', filter_chain_match: { transport_protocol: 'raw_buffer' }, filters: [hcmFilter(hcm)] };
  const chains = mode === 'STRICT' ? [mtlsChain] : mode === 'DISABLE' ? [{ ...plainChain, filter_chain_match: undefined }] : [mtlsChain, plainChain];
  return {
    name: INBOUND_LISTENER_NAME,
    address: socketAddress(address, port),
    traffic_direction: 'INBOUND',
    ...(mode === 'DISABLE' ? {} : { listener_filters: [tlsInspectorFilter()] }),
    // JSON drops the undefined filter_chain_match of the DISABLE chain.
    filter_chains: chains.map((c) => JSON.parse(JSON.stringify(c)) as object),
  };
}
