// Which HTTP protocol a cluster speaks to its endpoints, chosen as Istio's
// cluster builder chooses it (setUpstreamProtocol): from the service port's
// protocol first, then the DestinationRule's h2UpgradePolicy, then the mesh's.
//   HTTP2, GRPC, GRPC-WEB ports: HTTP/2 always (a gRPC server speaks nothing else).
//   HTTP ports: HTTP/1.1, or HTTP/2 when h2UpgradePolicy (the rule's, else the
//     mesh's) says UPGRADE; outbound only (Istio never upgrades inbound clusters).
//   ports of no declared protocol (sniffed): HTTP/2 when the DestinationRule says
//     UPGRADE (outbound), else the downstream's protocol, on sidecars only (a
//     gateway offers h2 by ALPN to every client, so it would send h2 to
//     upstreams that may not speak it).
//   a DestinationRule's connectionPool.http.useClientProtocol: the downstream's
//     protocol on http and undeclared ports, gateways too (Istio applies it with
//     the connection pool; an h2 upgrade and HTTP2/GRPC ports still win, as
//     Istio sets those after it).
//   anything else (TCP ports, unknown hosts): no HTTP protocol options.
// https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
import type { PortProtocol, TrafficPolicy } from '../config/istio-types.js';

/** The cluster's upstream HTTP protocol; undefined: say nothing (HTTP/1.1 unless pool options need the oneof). */
export type UpstreamHttpProtocol = 'HTTP1' | 'HTTP2' | 'DOWNSTREAM';

/** Mesh-wide h2UpgradePolicy (Istio's meshConfig.h2UpgradePolicy); a DestinationRule's overrides it. */
export type MeshH2UpgradePolicy = 'DO_NOT_UPGRADE' | 'UPGRADE';

const H2_PROTOCOLS: ReadonlySet<PortProtocol> = new Set(['HTTP2', 'GRPC', 'GRPC-WEB']);

export interface UpstreamProtocolInput {
  /** The service port's protocol; undefined when the host or port is not known. */
  readonly portProtocol: PortProtocol | undefined;
  readonly policy: TrafficPolicy;
  readonly meshUpgrade: MeshH2UpgradePolicy;
  readonly direction: 'outbound' | 'inbound';
  /** A sidecar (not a gateway): only sidecars sniff, so only they follow the downstream's protocol. */
  readonly sidecar: boolean;
}

/** takes the port's protocol, the policy and the proxy's kind; returns the cluster's upstream protocol (undefined: leave unsaid). */
export function upstreamHttpProtocol(input: UpstreamProtocolInput): UpstreamHttpProtocol | undefined {
  const { portProtocol } = input;
  const http = input.policy.connectionPool?.http;
  const clientProtocol: UpstreamHttpProtocol | undefined = http?.useClientProtocol === true ? 'DOWNSTREAM' : undefined;
  if (portProtocol === undefined) return http?.h2UpgradePolicy === 'UPGRADE' ? 'HTTP2' : clientProtocol;
  if (H2_PROTOCOLS.has(portProtocol)) return 'HTTP2';
  const rule = input.direction === 'outbound' ? http?.h2UpgradePolicy : undefined;
  if (portProtocol === 'UNKNOWN') {
    // A rule's UPGRADE on a sniffed port is its author saying the port is HTTP (Istio's shouldH2Upgrade checks it first).
    if (rule === 'UPGRADE') return 'HTTP2';
    return input.sidecar ? 'DOWNSTREAM' : clientProtocol;
  }
  if (portProtocol !== 'HTTP') return undefined; // TCP, TLS, ... ports: a TCP proxy, no HTTP protocol to choose
  if (input.direction === 'inbound') return clientProtocol;
  if (rule === 'UPGRADE') return 'HTTP2';
  if (rule === 'DO_NOT_UPGRADE') return clientProtocol ?? 'HTTP1';
  return input.meshUpgrade === 'UPGRADE' ? 'HTTP2' : clientProtocol;
}

/** takes a protocol; returns the HttpProtocolOptions oneof that says it (explicit h1 when none was chosen). */
export function protocolOptionsOneof(protocol: UpstreamHttpProtocol | undefined): Record<string, unknown> {
  switch (protocol) {
    case 'HTTP2': return { explicit_http_config: { http2_protocol_options: {} } };
    case 'DOWNSTREAM': return { use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} } };
    default: return { explicit_http_config: { http_protocol_options: {} } };
  }
}
