// The name a proxy verifies the control plane's TLS certificate by when it
// reaches the control plane by IP address. Node warns (DEP0123) and RFC 6066
// forbids an IP as the TLS server name, which is what grpc-js sends for an IP
// target; every serving certificate the control plane issues itself also names
// CONTROL_SERVER_NAME, as Istio's sidecars verify istiod by its service name.
import { isIP } from 'node:net';

/** A DNS name on every serving certificate of `isthmus control`'s TLS port. */
export const CONTROL_SERVER_NAME = 'isthmus-control';

/** takes a gRPC target (`host:port`, `[v6]:port`, `dns:host:port`); returns the channel options that name the control plane by CONTROL_SERVER_NAME when the host is an IP literal (none otherwise). */
export function controlChannelOptions(target: string): Record<string, string> {
  return isIP(targetHost(target)) !== 0 ? { 'grpc.ssl_target_name_override': CONTROL_SERVER_NAME } : {};
}

/** takes a gRPC target; returns its host (no brackets, no port, no scheme). */
function targetHost(target: string): string {
  let t = target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, '');
  if (t.startsWith('[')) return t.slice(1, t.indexOf(']') < 0 ? t.length : t.indexOf(']'));
  const colon = t.lastIndexOf(':');
  if (colon >= 0 && t.indexOf(':') === colon) t = t.slice(0, colon);
  return t;
}
