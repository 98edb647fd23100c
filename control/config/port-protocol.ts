// Which protocol a service port carries, chosen as Istio chooses it: the
// port's `protocol` when given, else its `appProtocol`, else the prefix of its
// name ("<protocol>" or "<protocol>-<suffix>": `grpc-api`, `tcp-db`), else
// unknown, and then the sidecar sniffs each connection (http_inspector).
// https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
import type { PortProtocol } from './istio-types.js';

/** Every protocol name Istio knows, as written in `protocol` (case-insensitive). */
export const PORT_PROTOCOLS: readonly Exclude<PortProtocol, 'UNKNOWN'>[] = [
  'HTTP', 'HTTP2', 'HTTPS', 'GRPC', 'GRPC-WEB', 'TCP', 'TLS', 'MONGO', 'MYSQL', 'REDIS',
];

/** The protocol a name or appProtocol names (case-insensitive), undefined for none. */
export function protocolNamed(text: string): PortProtocol | undefined {
  const upper = text.toUpperCase();
  return PORT_PROTOCOLS.find((p) => p === upper);
}

/** Istio's name convention: the longest known protocol that is the whole name or followed by '-'. */
export function protocolFromPortName(name: string): PortProtocol | undefined {
  const lower = name.toLowerCase();
  let best: PortProtocol | undefined;
  for (const p of PORT_PROTOCOLS) {
    const prefix = p.toLowerCase();
    if ((lower === prefix || lower.startsWith(`${prefix}-`)) && (best === undefined || prefix.length > best.length)) best = p;
  }
  return best;
}

/** How the sidecar serves a port of this protocol: an HTTP connection manager, a tcp_proxy, or sniffing for either. */
export type PortHandling = 'http' | 'tcp' | 'sniff';

const HTTP_HANDLED: ReadonlySet<PortProtocol> = new Set(['HTTP', 'HTTP2', 'GRPC', 'GRPC-WEB']);

/** takes a port's protocol; returns how its connections are handled (HTTPS and TLS pass through as TCP, as in Istio). */
export function portHandling(protocol: PortProtocol): PortHandling {
  if (protocol === 'UNKNOWN') return 'sniff';
  return HTTP_HANDLED.has(protocol) ? 'http' : 'tcp';
}
